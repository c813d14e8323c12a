//! The demo.

use crate::util::Result;

pub fn run() -> Result {
    Ok(())
}

//! Every check.

use crate::util::Result;

pub fn run() -> Result {
    Ok(())
}

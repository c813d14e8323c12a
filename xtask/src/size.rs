//! The size report: not written yet.

use crate::util::Result;

pub fn run() -> Result<()> {
    Err("the size report is not available yet".into())
}

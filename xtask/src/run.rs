use anyhow::Result;
#[derive(clap::Args)]
pub struct RunArgs {}
pub fn run(_args: &RunArgs) -> Result<i32> { Ok(0) }

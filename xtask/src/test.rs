use anyhow::Result;
#[derive(clap::Args)]
pub struct TestArgs {}
pub fn test(_args: &TestArgs) -> Result<i32> { Ok(0) }

//! `cargo xtask`: build, run, test and benchmark the hypervisor under QEMU.
//!
//! Everything a user or CI does goes through here, so the README's two commands
//! (`cargo xtask run`, `cargo xtask test`) are the whole set-up.

mod bench;
mod build;
mod domains;
mod interdomain;
mod qemu;
mod run;
mod scenario;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run, test and benchmark the hypervisor")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the hypervisor, the guest kernels, the boot bundle and the disk image(s).
    Build(build::BuildArgs),
    /// Boot under QEMU with the Dom0 shell on this terminal.
    Run(run::RunArgs),
    /// Host unit tests, clippy, then the QEMU scenarios.
    Test(test::TestArgs),
    /// Measurements inside QEMU, printed as a table with their baselines.
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::build(&args).map(|_| 0),
        Command::Run(args) => run::run(&args),
        Command::Test(args) => test::test(&args),
        Command::Bench(args) => bench::bench(&args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

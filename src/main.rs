mod cli;

fn main() {
    orch::git::install_signal_handlers();
    std::process::exit(cli::run());
}

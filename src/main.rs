mod cli;

fn main() {
    orch::fault::setup();
    orch::git::install_signal_handlers();
    std::process::exit(cli::run());
}

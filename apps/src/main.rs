//! The `tunstack` command.

fn main() {
    eprintln!("tunstack: not yet");
    std::process::exit(2);
}

package dev.chorus.engine.cli;

/** --help or -h among a command's options: Chorus prints that command's usage and exits 0. */
final class HelpRequested extends RuntimeException {
    HelpRequested() {
        super("help requested", null, false, false);
    }
}

package dev.chorus.engine.cli;

/** Wrong command-line input; printed as one line with exit code 2. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}

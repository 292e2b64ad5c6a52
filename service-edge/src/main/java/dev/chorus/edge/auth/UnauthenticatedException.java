package dev.chorus.edge.auth;

/** No usable API key on a request; services answer 401 (with WWW-Authenticate: Bearer). */
public class UnauthenticatedException extends RuntimeException {
    public UnauthenticatedException(String message) {
        super(message, null, false, false);
    }
}

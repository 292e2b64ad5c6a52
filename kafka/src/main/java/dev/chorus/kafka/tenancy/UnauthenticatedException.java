package dev.chorus.kafka.tenancy;

/** No usable API key on a request; services answer 401. */
public class UnauthenticatedException extends RuntimeException {
    public UnauthenticatedException(String message) {
        super(message, null, false, false);
    }
}

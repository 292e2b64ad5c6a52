package dev.chorus.engine;

/** A generation request the engine cannot honour as given (bad parameter, prompt too long, ...). */
public class InvalidRequestException extends EngineException {
    public InvalidRequestException(String message) {
        super(message);
    }
}

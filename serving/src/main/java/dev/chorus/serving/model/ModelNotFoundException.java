package dev.chorus.serving.model;

/** A request names a model this caller cannot use: unknown, or another tenant's (the two look the same). */
public class ModelNotFoundException extends RuntimeException {
    private final String model;

    public ModelNotFoundException(String model) {
        super("model " + model + " not found", null, false, false);
        this.model = model;
    }

    /** The name as the request gave it. */
    public String model() {
        return model;
    }
}

package dev.chorus.engine.compress;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How a pruning step scores weights: Wanda's |W|·‖X‖ on calibration activations, or |W| alone. */
public enum PruningMethod {
    WANDA("wanda"),
    MAGNITUDE("magnitude");

    private final String label;

    PruningMethod(String label) {
        this.label = label;
    }

    /** The name on the command line and in chorus_compression.json. */
    public String label() {
        return label;
    }

    public static PruningMethod parse(String text) {
        return Arrays.stream(values()).filter(m -> m.label.equals(text)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("must be " + Arrays.stream(values()).map(PruningMethod::label)
                        .collect(Collectors.joining(" or ")) + ", got '" + text + "'"));
    }
}

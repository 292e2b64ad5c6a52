package dev.chorus.engine.adapter;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The names of the adapter kinds, as written in files, manifests and on the command line. What a
 * kind does lives in its {@link AdapterKind} class; this enum only parses and labels.
 */
public enum AdapterType {
    LORA("lora"),
    QA_LORA("qa-lora"),
    SCALE("scale"),
    QA_HIRA("qa-hira"),
    SPARSE_PEFT("sparse-peft"),
    QA_SPARSE_PEFT("qa-sparse-peft");

    private final String label;

    AdapterType(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static AdapterType parse(String text) {
        for (AdapterType t : values()) {
            if (t.label.equals(text)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown adapter type '" + text + "' (known: "
                + Arrays.stream(values()).map(AdapterType::label).collect(Collectors.joining(", ")) + ")");
    }
}

package dev.chorus.engine.adapter;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How an adapter changes a linear layer y = Ŵx (ARCHITECTURE.md §4); s = α/r. */
public enum AdapterType {
    /** y = Ŵx + s·B(Ax), A [r, in], B [out, r]. */
    LORA("lora"),
    /** y = Ŵx + s·B·A·pool_g(x): A [r, in/g] reads the input averaged over each quantization group of g inputs. */
    QA_LORA("qa-lora"),
    /** y = α ⊙ Ŵx: one scale per output channel on the shared (quantized) product. */
    SCALE("scale");

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

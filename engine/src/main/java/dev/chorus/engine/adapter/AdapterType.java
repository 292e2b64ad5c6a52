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
    SCALE("scale"),
    /**
     * QA-HiRA: y = Ŵx + s·repeat_o(A·pool_g(x)) with one A [out/o, in/g] (rank = o, the output
     * repeat): a high-rank delta, constant over each quantization group, for the parameters of a
     * small LoRA. Served as the equivalent low-rank pair, folded like qa-lora.
     */
    QA_HIRA("qa-hira"),
    /** SQFT SparsePEFT: y = Wᵖx + s·(BA ⊙ M)x with M the base's sparsity mask; served merged (zeros stay zero). */
    SPARSE_PEFT("sparse-peft"),
    /** SQFT QA-SparsePEFT: y = fq(Wᵖ + s·(BA ⊙ M))x with the base's own scales and zero points; served merged (codes change only). */
    QA_SPARSE_PEFT("qa-sparse-peft");

    private final String label;

    AdapterType(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Types that only make sense folded into the base (chorus merge), never batched on top of it. */
    public boolean mergedOnly() {
        return this == SPARSE_PEFT || this == QA_SPARSE_PEFT;
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

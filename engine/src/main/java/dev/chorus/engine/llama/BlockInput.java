package dev.chorus.engine.llama;

import java.util.List;

/**
 * The four tensors a Llama block's linears read. The projections reading one input can share work:
 * adapters compute x·A for all of them in one batched matmul.
 */
public enum BlockInput {
    /** RMSNorm(x) before attention. */
    ATTENTION(Projection.Q, Projection.K, Projection.V),
    /** The attention heads merged back to [B, L, dim]. */
    HEADS(Projection.O),
    /** RMSNorm(x) before the MLP. */
    MLP(Projection.GATE, Projection.UP),
    /** silu(gate) ⊙ up. */
    SWIGLU(Projection.DOWN);

    private final List<Projection> projections;

    BlockInput(Projection... projections) {
        this.projections = List.of(projections);
    }

    /** The input {@code p} reads. */
    public static BlockInput of(Projection p) {
        for (BlockInput input : values()) {
            if (input.projections.contains(p)) {
                return input;
            }
        }
        throw new AssertionError(p);
    }

    /** The projections reading this input, in forward order. */
    public List<Projection> projections() {
        return projections;
    }
}

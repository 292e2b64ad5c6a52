package dev.chorus.engine.llama;

import dev.chorus.engine.llama.DenseParameters.Layer;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The seven linear layers of a Llama block, named as PEFT target modules name them. */
public enum Projection {
    Q("q_proj"), K("k_proj"), V("v_proj"), O("o_proj"), GATE("gate_proj"), UP("up_proj"), DOWN("down_proj");

    private final String moduleName;

    Projection(String moduleName) {
        this.moduleName = moduleName;
    }

    /** q_proj, k_proj, ... as in Hugging Face / PEFT. */
    public String moduleName() {
        return moduleName;
    }

    public static Projection fromModuleName(String name) {
        for (Projection p : values()) {
            if (p.moduleName.equals(name) || p.name().toLowerCase(Locale.ROOT).equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown projection '" + name + "' (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
    }

    /** A set by name: "all", "qkvo", or a comma list of q,k,v,o,gate,up,down (or their PEFT names). */
    public static Set<Projection> parseSet(String text) {
        switch (text) {
            case "all":
                return EnumSet.allOf(Projection.class);
            case "qkvo":
                return EnumSet.of(Q, K, V, O);
            default:
                Set<Projection> out = EnumSet.noneOf(Projection.class);
                for (String name : text.split(",")) {
                    String n = name.trim();
                    out.add(fromModuleName(n.endsWith("_proj") ? n : n + "_proj"));
                }
                return out;
        }
    }

    public int outFeatures(ModelConfig c) {
        return switch (this) {
            case Q, O, DOWN -> c.hiddenSize();
            case K, V -> c.kvDim();
            case GATE, UP -> c.intermediateSize();
        };
    }

    public int inFeatures(ModelConfig c) {
        return this == DOWN ? c.intermediateSize() : c.hiddenSize();
    }

    public float[] of(Layer l) {
        return switch (this) {
            case Q -> l.query();
            case K -> l.key();
            case V -> l.value();
            case O -> l.output();
            case GATE -> l.gate();
            case UP -> l.up();
            case DOWN -> l.down();
        };
    }

    /** A copy of the layer with this projection's weight replaced. */
    public Layer with(Layer l, float[] w) {
        return new Layer(l.attentionNorm(), this == Q ? w : l.query(), this == K ? w : l.key(), this == V ? w : l.value(),
                this == O ? w : l.output(), l.ffnNorm(), this == GATE ? w : l.gate(), this == UP ? w : l.up(), this == DOWN ? w : l.down());
    }
}

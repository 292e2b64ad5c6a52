package dev.chorus.engine.llama;

/** Sees the input rows [T][in] that feed each linear layer of a block during a reference forward. */
public interface ActivationObserver {
    void onInput(Projection projection, float[][] inputs);
}

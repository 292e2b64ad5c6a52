package dev.chorus.engine.finetune;

import ai.djl.ndarray.NDArray;

/**
 * Direct preference optimisation (Rafailov et al., 2023): for a pair with sequence log-probabilities
 * under the policy (p⁺, p⁻) and the frozen reference (r⁺, r⁻),
 * loss = −log σ(β·[(p⁺ − r⁺) − (p⁻ − r⁻)]) = softplus(−β·[(p⁺ − p⁻) − (r⁺ − r⁻)]).
 */
final class DpoLoss {
    private DpoLoss() {
    }

    /** Summed over the pairs: {@code chosen}, {@code rejected} [B] policy log-probs, {@code referenceMargin} [B] = r⁺ − r⁻. */
    static NDArray sum(NDArray chosen, NDArray rejected, NDArray referenceMargin, double beta) {
        NDArray z = chosen.sub(rejected).sub(referenceMargin).mul(beta);
        return softplus(z.neg()).sum();
    }

    /** log(1 + eˣ) without overflow: max(x, 0) + log(1 + e^−|x|). */
    static NDArray softplus(NDArray x) {
        return x.maximum(0).add(x.abs().neg().exp().add(1).log());
    }

    /** The same for plain numbers (tests and reports). */
    static double value(double chosen, double rejected, double referenceMargin, double beta) {
        double x = -beta * (chosen - rejected - referenceMargin);
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }
}

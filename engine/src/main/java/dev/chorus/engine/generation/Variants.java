package dev.chorus.engine.generation;

import dev.chorus.engine.merged.MergeListener;
import dev.chorus.engine.merged.MergeSettings;
import dev.chorus.engine.merged.MergedModels;
import java.util.function.LongSupplier;

/**
 * What an engine loop needs to serve merged variants: which versions run merged and where their
 * weights come from, the budget and policy, who hears about decisions, and the clock the policy's
 * window runs on (System::nanoTime, or a test's).
 */
public record Variants(MergedModels models, MergeSettings settings, MergeListener listener, LongSupplier clock) {
    public Variants(MergedModels models, MergeSettings settings, MergeListener listener) {
        this(models, settings, listener, System::nanoTime);
    }
}

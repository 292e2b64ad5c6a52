package dev.chorus.engine.adapter;

/** A kind that is only served folded into its base (SQFT) was offered to the unmerged, batched path. */
public final class MergedOnlyException extends AdapterFormatException {
    public MergedOnlyException(AdapterType type) {
        super("a " + type.label() + " adapter is served merged into its base: run chorus merge");
    }
}

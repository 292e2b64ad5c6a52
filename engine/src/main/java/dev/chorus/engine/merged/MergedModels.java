package dev.chorus.engine.merged;

import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.compressed.CompressedParameters;

/** How each adapter version may run merged, and where its merged weights come from. */
public interface MergedModels {

    /** How a version may be served. */
    enum Form {
        /** Only through the batched adapter slots (or no adapter at all). */
        UNMERGED,
        /** Either way, with identical outputs within the merge's tolerance: dynamic merge may move it onto a variant. */
        MERGEABLE,
        /** Only on its merged variant (sparse-peft, qa-sparse-peft): its requests wait while the variant loads. */
        MERGED_ONLY,
        /** Merged only, and its merged model for this base does not exist yet: refused ({@link MergePendingException}) until it does. */
        AWAITING_MERGE
    }

    /** Called on the engine thread and by submitters: must answer from memory, never block, be thread-safe. */
    Form form(AdapterKey key);

    /** The version merged into the served base; may block (download, merge); never called on the engine thread. */
    CompressedParameters merged(AdapterKey key);

    /** Nothing runs merged. */
    MergedModels NONE = new MergedModels() {
        @Override
        public Form form(AdapterKey key) {
            return Form.UNMERGED;
        }

        @Override
        public CompressedParameters merged(AdapterKey key) {
            throw new IllegalStateException("no merged models");
        }
    };
}

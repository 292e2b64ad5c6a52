package dev.chorus.engine.generation;

import dev.chorus.engine.InvalidRequestException;
import dev.chorus.engine.merged.MergePendingException;
import dev.chorus.engine.merged.MergedModels;
import dev.chorus.engine.model.LoadedModel;

/**
 * What a request must satisfy before it is queued: each failure is the caller's mistake
 * (InvalidRequestException), except a version still being merged (MergePendingException: retry).
 */
final class RequestChecks {
    private RequestChecks() {
    }

    static void check(GenerationRequest request, LoadedModel model, int contextLength, boolean servesAdapters, MergedModels merged) {
        int needed = request.promptIds().length + request.maxTokens();
        if (needed > contextLength) {
            throw new InvalidRequestException("prompt (" + request.promptIds().length + " tokens) + max_tokens (" + request.maxTokens()
                    + ") exceeds the context length of " + contextLength);
        }
        for (int id : request.promptIds()) {
            if (id < 0 || id >= model.config().vocabSize()) {
                throw new InvalidRequestException("token id " + id + " outside the vocabulary");
            }
        }
        if (request.adapter() != null && !servesAdapters) {
            throw new InvalidRequestException("this engine serves no adapters");
        }
        if (request.adapter() != null && merged.form(request.adapter()) == MergedModels.Form.AWAITING_MERGE) {
            throw new MergePendingException(request.adapter());
        }
        if (!request.stopStrings().isEmpty() && model.tokenizer().isEmpty()) {
            throw new InvalidRequestException("stop strings need a tokenizer, and this model has none");
        }
    }
}

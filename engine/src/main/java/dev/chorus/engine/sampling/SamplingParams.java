package dev.chorus.engine.sampling;

import dev.chorus.engine.InvalidRequestException;

/**
 * How the next token is picked. temperature 0 means greedy argmax; topK 0 means no top-k cut;
 * topP 1 means no nucleus cut. The seed makes sampling reproducible per request.
 */
public record SamplingParams(float temperature, int topK, float topP, long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0L);

    public SamplingParams {
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new InvalidRequestException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new InvalidRequestException("top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new InvalidRequestException("top_p must be in (0, 1], got " + topP);
        }
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}

package dev.chorus.serving;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** Everything the serving process can be told; env vars map automatically (CHORUS_MODEL_PATH, ...). */
@ConfigMapping(prefix = "chorus")
public interface ChorusConfig {

    Model model();

    Engine engine();

    Api api();

    interface Model {
        /** A Hugging Face directory or a llama2.c .bin, relative to the working directory. */
        @WithDefault("../shared/models/TinyStories-656K")
        String path();

        /** Overrides the tokenizer found beside the checkpoint. */
        Optional<String> tokenizer();

        /** DJL device name: cpu, gpu, gpu1, ... */
        @WithDefault("cpu")
        String device();
    }

    interface Engine {
        /** Sequences decoded together per step (= KV cache slots). */
        @WithDefault("16")
        int maxBatch();

        /** Requests queued beyond the batch before new ones get 429. */
        @WithDefault("64")
        int maxWaiting();

        /** Prompt tokens prefilled per engine iteration before the running batch decodes again. */
        @WithDefault("512")
        int prefillBudget();
    }

    interface Api {
        /** Largest accepted request body; bigger bodies get 413 before any JSON parsing. */
        @WithDefault("1048576")
        int maxRequestBytes();
    }
}

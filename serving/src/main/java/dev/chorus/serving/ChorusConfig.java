package dev.chorus.serving;

import dev.chorus.engine.llama.Projection;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithConverter;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the serving process itself can be told; env vars map automatically (CHORUS_MODEL_PATH, ...).
 * Keys (chorus.auth.*) and topic names (chorus.topics.*) are the service edge's.
 */
@ConfigMapping(prefix = "chorus")
public interface ChorusConfig {

    Model model();

    Engine engine();

    Api api();

    Adapters adapters();

    Feedback feedback();

    Merged merged();

    interface Model {
        /** A Hugging Face directory or a llama2.c .bin, relative to the working directory. */
        @WithDefault("../shared/models/TinyStories-656K")
        String path();

        /** Overrides the tokenizer found beside the checkpoint. */
        Optional<String> tokenizer();

        /** DJL device name: cpu, gpu, gpu1, ... */
        @WithDefault("cpu")
        String device();

        /**
         * Where decode steps run on a CPU: host (the engine's own Java kernels, no backend op per step;
         * the dense weights are also kept in Java arrays, so they take twice the memory, and a model whose
         * copy would exceed a quarter of the heap decodes on the backend), host-bf16 (the same with the
         * copies in bf16: half the bytes per step, logits within a tested bound of fp32) or backend.
         * Prompts always run on the backend; on a GPU everything does.
         */
        @WithDefault("host")
        DecodePath decodePath();

        enum DecodePath { HOST, HOST_BF16, BACKEND }
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

        /** Slots no one tenant may take: another tenant's request finds one free at once (0: every slot open to everyone). */
        @WithDefault("2")
        int reservedSlots();

        /**
         * Prompt tokens of one tenant prefilled per iteration while another tenant's requests decode or wait for their
         * own prefill (their steps stay short, and a new prompt of theirs is prefilled in a short pass).
         */
        @WithDefault("64")
        int tenantPrefillBudget();
    }

    interface Api {
        /** Largest accepted request body; bigger bodies get 413 before any JSON parsing. */
        @WithDefault("1048576")
        int maxRequestBytes();

        /** Requests of one tenant read, parsed and tokenized at once; the rest wait (see tenant-queue). */
        @WithDefault("2")
        int tenantConcurrency();

        /** Requests of one tenant waiting for their turn to be prepared; beyond this they get 429 + Retry-After. */
        @WithDefault("128")
        int tenantQueue();
    }

    interface Feedback {
        /** Completions remembered per tenant, so feedback can name them by id (the oldest are forgotten first). */
        @WithDefault("1000")
        int recentCompletions();

        /** How long a completion can be named by id; later feedback sends model, prompt or messages, and completion. */
        @WithDefault("PT1H")
        Duration recentCompletionsAge();

        /** How long POST /v1/feedback waits for the broker's acknowledgement before answering 503. */
        @WithDefault("PT5S")
        Duration ackTimeout();
    }

    interface Adapters {
        /** directory: local files; registry: the adapters topic (kafka.bootstrap.servers, chorus.topics.adapters) and the registry's blobs. */
        @WithDefault("directory")
        Source source();

        enum Source { DIRECTORY, REGISTRY }

        /** Local adapters: directory/&lt;tenant&gt;/&lt;name&gt;/&lt;version&gt;/ with PEFT files; the newest version is active. */
        @WithDefault("adapters")
        String directory();

        /** The adapter registry's base URL (source = registry). */
        Optional<String> registryUrl();

        /** An operator key of the registry, for blob downloads (source = registry). */
        Optional<String> registryKey();

        /** Downloaded adapter blobs, unpacked by sha256. */
        @WithDefault("data/serving/adapter-cache")
        String cacheDirectory();

        /** Adapters resident on the device at once (batch slots, besides the zero slot). */
        @WithDefault("8")
        int maxLoras();

        /** Largest accepted adapter rank; slot tensors are sized by it. */
        @WithDefault("64")
        int maxRank();

        /**
         * Where low-rank slots live: host-fp32 (the engine's own per-row kernel, default), host-bf16 (the
         * same with weights stored in bf16: half the bytes per step; logits within 2e-3 of their scale
         * of fp32 slots, greedy outputs identical on the engine's test prompts), or tensors (backend
         * batched matmuls over gathered slot tensors).
         */
        @WithDefault("host-fp32")
        SlotStorage slotStorage();

        enum SlotStorage { TENSORS, HOST_FP32, HOST_BF16 }

        /** Parsed adapters kept in host memory, ready to upload into a slot. */
        @WithDefault("32")
        int maxCpuLoras();

        /** Projections adapters may target (PEFT module names); slot tensors exist only for these. */
        @WithDefault("q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
        List<@WithConverter(ProjectionConverter.class) Projection> targetModules();
    }

    /**
     * Merged variants beside the shared base: versions re-merged by training (sparse-peft,
     * qa-sparse-peft) and, with {@code dynamic}, hot exactly-mergeable adapters merged on demand
     * (dLoRA's policy). Both need adapters from the registry.
     */
    interface Merged {
        /** Merged models resident at once besides the base (0: none, merged-only versions are then refused). */
        @WithDefault("2")
        int maxModels();

        /** Bytes all merged models together may add to the base's (device arrays and host decode copies). */
        @WithDefault("1073741824")
        long maxBytes();

        /** Merge hot lora (dense base), qa-lora / qa-hira / scale (quantized base) adapters on demand. */
        @WithDefault("true")
        boolean dynamic();

        /** Merge when an adapter's running + waiting requests average this many batch sizes over the window. */
        @WithDefault("1.0")
        double mergeAt();

        /** Stay merged while they average at least this many batch sizes. */
        @WithDefault("0.56")
        double stayAt();

        /** And merge only when they are at least this share of all running + waiting requests (measured break-even: bench merge). */
        @WithDefault("0.9")
        double mergeShare();

        /** Stay merged while they are at least this share. */
        @WithDefault("0.8")
        double stayShare();

        /** The sliding window the averages are taken over, and how often the policy decides. */
        @WithDefault("PT2S")
        Duration window();

        /** Share of the batch slots merged rows leave to other tenants while those wait (starvation guard). */
        @WithDefault("0.25")
        double starvationReserve();
    }
}

package dev.chorus.serving.model;

import dev.chorus.edge.auth.Caller;
import dev.chorus.engine.adapter.AdapterKey;
import dev.chorus.engine.adapter.AdapterStore;
import dev.chorus.engine.generation.EngineLoop;
import dev.chorus.engine.model.LoadedModel;
import dev.chorus.engine.tokenizer.ModelChatTemplate;
import dev.chorus.engine.tokenizer.Tokenizer;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loaded model, the engine loop that runs it, the catalogue of adapters on top and the model's
 * chat template if it has one; valid until shutdown. {@code maxPromptChars} is the context length
 * times the longest token's text: a longer prompt cannot fit, whatever it tokenizes to.
 */
public record ServedModel(LoadedModel model, EngineLoop engine, Tokenizer tokenizer, AdapterStore adapters,
        Optional<ModelChatTemplate> chatTemplate, long maxPromptChars) {
    // adapter, adapter@version; operators prefix the tenant: tenant/adapter[@version]
    private static final Pattern ADAPTER = Pattern.compile("(?:([^/@]+)/)?([^/@]+)(?:@([1-9][0-9]{0,8}))?");

    /** What a request runs on: the base (adapter null) or one adapter version; {@code name} is echoed in responses. */
    public record Target(String name, AdapterKey adapter) {
    }

    public String name() {
        return model.name();
    }

    /**
     * The base model when {@code requested} is absent or names it, else the caller's adapter
     * {@code name[@version]} (the active version when none is given). Anything else, including
     * another tenant's adapter, is the same {@link ModelNotFoundException}.
     */
    public Target resolve(Caller caller, Optional<String> requested) {
        if (requested.isEmpty() || requested.get().equals(name())) {
            return new Target(name(), null);
        }
        String text = requested.get();
        Matcher m = ADAPTER.matcher(text);
        if (!m.matches() || (m.group(1) != null) != caller.admin()) {
            throw new ModelNotFoundException(text);
        }
        String tenant = caller.admin() ? m.group(1) : caller.tenant();
        OptionalInt version = m.group(3) == null ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(m.group(3)));
        AdapterKey key = adapters.resolve(tenant, m.group(2), version).orElseThrow(() -> new ModelNotFoundException(text));
        String prefix = caller.admin() ? tenant + "/" : "";
        return new Target(prefix + key.name() + "@" + key.version(), key);
    }
}

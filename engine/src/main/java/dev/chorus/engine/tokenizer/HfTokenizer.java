package dev.chorus.engine.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face {@code tokenizer.json}, run by DJL's binding of the Rust {@code tokenizers} library.
 *
 * <p>Decoding is the tokenizer's own decoder chain with special tokens skipped. For sentencepiece-style
 * tokenizers that chain ends with {@code Strip(start=1)}, which removes one leading space from the
 * whole decoded string, so the leading space of a slice's first word is dropped; that is consistent
 * with {@link StreamingDetokenizer}, which diffs two decodes of slices starting at the same token.
 */
public final class HfTokenizer implements Tokenizer {

    private final HuggingFaceTokenizer delegate;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;
    private volatile boolean closed;

    private HfTokenizer(HuggingFaceTokenizer delegate, int vocabSize, int bosId, int eosId) {
        this.delegate = delegate;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosId;
    }

    /**
     * Loads {@code tokenizer.json}. BOS/EOS ids come from the same directory's {@code config.json}
     * ({@code bos_token_id}/{@code eos_token_id}), else the token names in {@code tokenizer_config.json}
     * or {@code special_tokens_map.json}, else the tokens {@code <s>}/{@code </s>}.
     *
     * @throws TokenizerException if a file is missing, unreadable or malformed, or BOS/EOS
     *     cannot be determined
     */
    public static HfTokenizer load(Path tokenizerJson) {
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new TokenizerException("tokenizer file not found: " + tokenizerJson);
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode root = readJson(json, tokenizerJson);
        Map<String, Integer> idsByToken = tokenIds(root, tokenizerJson);
        int vocabSize = idsByToken.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        if (vocabSize == 0) {
            throw new TokenizerException("tokenizer file " + tokenizerJson + " has an empty vocabulary");
        }
        Path dir = tokenizerJson.toAbsolutePath().getParent();
        int bos = specialTokenId(json, dir, "bos", "<s>", idsByToken, vocabSize);
        int eos = specialTokenId(json, dir, "eos", "</s>", idsByToken, vocabSize);

        HuggingFaceTokenizer djl;
        try {
            // DJL defaults to truncating at 512 tokens and padding; a serving engine wants neither.
            djl = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(true)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
        } catch (IOException | RuntimeException e) {
            // The native library reports malformed JSON as a bare RuntimeException.
            throw new TokenizerException(
                    "cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
        return new HfTokenizer(djl, vocabSize, bos, eos);
    }

    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        ensureOpen();
        long[] raw = delegate.encode(text).getIds();
        // The post-processor normally adds BOS; add it if this tokenizer.json does not, so every
        // prompt starts with BOS as the model expects.
        int offset = raw.length > 0 && raw[0] == bosId ? 0 : 1;
        int[] ids = new int[raw.length + offset];
        ids[0] = bosId;
        for (int i = 0; i < raw.length; i++) {
            ids[i + offset] = Math.toIntExact(raw[i]);
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        ensureOpen();
        // BOS/EOS are dropped here as well as by skipSpecialTokens, in case a tokenizer.json does not
        // mark them special; dropping before the decoder chain is exactly what skipping does.
        long[] kept = new long[ids.length];
        int n = 0;
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary [0, " + vocabSize + ")");
            }
            if (id != bosId && id != eosId) {
                kept[n++] = id;
            }
        }
        if (n == 0) {
            return "";
        }
        return delegate.decode(n == kept.length ? kept : Arrays.copyOf(kept, n), true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            delegate.close();
        }
    }

    private void ensureOpen() {
        // The native handle is freed on close; using it afterwards could crash the JVM.
        if (closed) {
            throw new IllegalStateException("tokenizer is closed");
        }
    }

    /** Every token string with its id: the model vocabulary plus added (special) tokens. */
    private static Map<String, Integer> tokenIds(JsonNode root, Path file) {
        Map<String, Integer> ids = new HashMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {"token": id}
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                ids.put(e.getKey(), tokenId(e.getValue(), file));
            }
        } else if (vocab.isArray()) { // Unigram: [["piece", score], ...], id = position
            for (int i = 0; i < vocab.size(); i++) {
                ids.put(vocab.get(i).path(0).asText(), i);
            }
        } else {
            throw new TokenizerException("tokenizer file " + file + " has no model.vocab");
        }
        for (JsonNode added : root.path("added_tokens")) {
            ids.put(added.path("content").asText(), tokenId(added.path("id"), file));
        }
        return ids;
    }

    private static int tokenId(JsonNode node, Path file) {
        if (!node.canConvertToInt() || !node.isIntegralNumber() || node.intValue() < 0) {
            throw new TokenizerException("tokenizer file " + file + " has an invalid token id: " + node);
        }
        return node.intValue();
    }

    private static int specialTokenId(ObjectMapper json, Path dir, String kind, String fallbackToken,
            Map<String, Integer> idsByToken, int vocabSize) {
        Integer id = null;
        String source = null;
        Path config = dir.resolve("config.json");
        if (Files.isRegularFile(config)) {
            JsonNode node = readJson(json, config).path(kind + "_token_id");
            if (node.isArray()) { // e.g. several EOS ids; the first is the canonical one
                node = node.path(0);
            }
            if (node.isIntegralNumber()) {
                id = node.intValue();
                source = config.toString();
            }
        }
        for (String name : new String[] {"tokenizer_config.json", "special_tokens_map.json"}) {
            Path file = dir.resolve(name);
            if (id == null && Files.isRegularFile(file)) {
                JsonNode node = readJson(json, file).path(kind + "_token");
                String token = node.isTextual() ? node.asText() : node.path("content").asText(null);
                if (token != null && idsByToken.containsKey(token)) {
                    id = idsByToken.get(token);
                    source = file.toString();
                }
            }
        }
        if (id == null && idsByToken.containsKey(fallbackToken)) {
            id = idsByToken.get(fallbackToken);
            source = "the token " + fallbackToken;
        }
        if (id == null) {
            throw new TokenizerException("cannot determine the " + kind.toUpperCase()
                    + " token id: no " + kind + "_token_id in config.json, no usable " + kind
                    + "_token in tokenizer_config.json/special_tokens_map.json and no " + fallbackToken
                    + " token in " + dir);
        }
        if (id < 0 || id >= vocabSize) {
            throw new TokenizerException(kind.toUpperCase() + " token id " + id + " from " + source
                    + " is outside the tokenizer vocabulary [0, " + vocabSize + ")");
        }
        return id;
    }

    private static JsonNode readJson(ObjectMapper json, Path file) {
        try {
            JsonNode node = json.readTree(file.toFile());
            if (node == null || !node.isObject()) {
                throw new TokenizerException("file " + file + " is not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new TokenizerException("cannot read JSON file " + file + ": " + e.getMessage(), e);
        }
    }
}

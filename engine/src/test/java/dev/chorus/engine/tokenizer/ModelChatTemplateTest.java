package dev.chorus.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelChatTemplateTest {

    @Test
    void theSharedModelHasNone() {
        assertTrue(ModelChatTemplate.load(TestModels.tinyStories656k()).isEmpty());
        assertTrue(ModelChatTemplate.load(TestModels.tinyStories656k().resolve("missing")).isEmpty());
    }

    @Test
    void rendersTheConfiguredTemplateWithoutTheLeadingBos(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<s>"}, "eos_token": "</s>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"}
                """);
        ModelChatTemplate t = ModelChatTemplate.load(dir).orElseThrow();
        assertEquals("[system] Be brief.</s>[user] Hi</s>[assistant] ",
                t.render(List.of(new ChatTemplate.Message("system", "Be brief."), new ChatTemplate.Message("user", "Hi"))));
    }

    @Test
    void namedTemplatesUseDefaultAndBrokenOnesFailAtLoad(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ messages[0]['content'] }}!"}]}
                """);
        assertEquals("Hi!", ModelChatTemplate.load(dir).orElseThrow().render(List.of(new ChatTemplate.Message("user", "Hi"))));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"{% if x %}unclosed\"}");
        assertThrows(ChatTemplateException.class, () -> ModelChatTemplate.load(dir));
    }
}

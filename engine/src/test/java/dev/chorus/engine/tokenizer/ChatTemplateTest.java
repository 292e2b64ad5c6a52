package dev.chorus.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.engine.EngineException;
import dev.chorus.engine.tokenizer.ChatTemplate.Message;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Expected strings are worked out by hand from each template (and, for Zephyr/TinyLlama, agree with the prompt shown
 * on the model card), not produced by this implementation.
 */
class ChatTemplateTest {
    static final List<Message> CONVERSATION = List.of(
            new Message("system", "You are kind."),
            new Message("user", "Hi"),
            new Message("assistant", "Hello!"),
            new Message("user", "Tell a story"));

    // ---------------------------------------------------------------- real-world templates

    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'"
            + " + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\n' }}{% endif %}";

    @Test
    void chatml() {
        ChatTemplate t = ChatTemplate.parse(CHATML);
        String expected = "<|im_start|>system\nYou are kind.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nTell a story<|im_end|>\n";
        assertEquals(expected, t.render(CONVERSATION, "<s>", "</s>", false));
        assertEquals(expected + "<|im_start|>assistant\n", t.render(CONVERSATION, "<s>", "</s>", true));
    }

    static final String ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
            + "{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n"
            + "{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n"
            + "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
            + "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    @Test
    void zephyrWithTransformersWhitespace() {
        // trim_blocks drops the newline after each {% %} tag; the newline after each {{ }} stays. This is the
        // prompt format printed on the TinyLlama-1.1B-Chat model card.
        ChatTemplate t = ChatTemplate.parse(ZEPHYR);
        String expected = "<|system|>\nYou are kind.</s>\n"
                + "<|user|>\nHi</s>\n"
                + "<|assistant|>\nHello!</s>\n"
                + "<|user|>\nTell a story</s>\n";
        assertEquals(expected, t.render(CONVERSATION, "<s>", "</s>", false));
        assertEquals(expected + "<|assistant|>\n", t.render(CONVERSATION, "<s>", "</s>", true));
    }

    @Test
    void zephyrWithPlainJinjaWhitespace() {
        // Without trim_blocks every newline between tags is output: per message "\n" after {% for %}, "\n" after
        // {% if %}, the {{ }} and its "\n", then "\n" after {% endif %} and "\n" after the second {% endif %}.
        ChatTemplate t = ChatTemplate.parse(ZEPHYR, false);
        String expected = "\n\n<|system|>\nYou are kind.</s>\n\n\n"
                + "\n\n<|user|>\nHi</s>\n\n\n"
                + "\n\n<|assistant|>\nHello!</s>\n\n\n"
                + "\n\n<|user|>\nTell a story</s>\n\n";
        assertEquals(expected + "\n", t.render(CONVERSATION, "<s>", "</s>", false));
        assertEquals(expected + "\n<|assistant|>\n\n", t.render(CONVERSATION, "<s>", "</s>", true));
    }

    static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
            + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
            + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
            + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    @Test
    void llama2Chat() {
        ChatTemplate t = ChatTemplate.parse(LLAMA2);
        // The template has no generation-prompt branch; '\\n' in the JSON is a Jinja escape, i.e. a newline.
        String expected = "<s>[INST] <<SYS>>\nYou are kind.\n<</SYS>>\n\nHi [/INST] Hello! </s>"
                + "<s>[INST] Tell a story [/INST]";
        assertEquals(expected, t.render(CONVERSATION, "<s>", "</s>", false));
        assertEquals(expected, t.render(CONVERSATION, "<s>", "</s>", true));
        assertEquals("<s>[INST] Hi [/INST]",
                t.render(List.of(new Message("user", "  Hi \n")), "<s>", "</s>", true));
    }

    @Test
    void llama2RejectsNonAlternatingRoles() {
        ChatTemplate t = ChatTemplate.parse(LLAMA2);
        List<Message> bad = List.of(new Message("user", "a"), new Message("user", "b"));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(bad, "<s>", "</s>", true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
        assertTrue(e instanceof EngineException);
        List<Message> assistantFirst = List.of(new Message("system", "s"), new Message("assistant", "b"));
        assertThrows(ChatTemplateException.class, () -> t.render(assistantFirst, "<s>", "</s>", true));
    }

    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
            + "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
            + "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    static final String LLAMA3_EXPECTED = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "You are kind.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nTell a story<|eot_id|>";

    @Test
    void llama3() {
        ChatTemplate t = ChatTemplate.parse(LLAMA3);
        assertEquals(LLAMA3_EXPECTED, t.render(CONVERSATION, "<|begin_of_text|>", "<|eot_id|>", false));
        assertEquals(LLAMA3_EXPECTED + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                t.render(CONVERSATION, "<|begin_of_text|>", "<|eot_id|>", true));
        // | trim binds tighter than +, so only the content is trimmed, not the concatenation.
        assertEquals("B<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
                t.render(List.of(new Message("user", " \n Hi  \n")), "B", "E", false));
    }

    /** The same Llama-3 template laid out over lines and indented, relying on {%- -%} to remove the layout. */
    static final String LLAMA3_PRETTY = """
            {%- set loop_messages = messages -%}
            {%- for message in loop_messages -%}
                {%- set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'
                    + message['content'] | trim + '<|eot_id|>' -%}
                {%- if loop.index0 == 0 -%}
                    {%- set content = bos_token + content -%}
                {%- endif -%}
                {{- content -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
                {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {%- endif -%}
            """;

    @Test
    void llama3WithWhitespaceControl() {
        for (boolean hf : new boolean[] {true, false}) {
            ChatTemplate t = ChatTemplate.parse(LLAMA3_PRETTY, hf);
            assertEquals(LLAMA3_EXPECTED, t.render(CONVERSATION, "<|begin_of_text|>", "<|eot_id|>", false));
            assertEquals(LLAMA3_EXPECTED + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                    t.render(CONVERSATION, "<|begin_of_text|>", "<|eot_id|>", true));
        }
    }

    static final String MISTRAL = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    @Test
    void mistralInstruct() {
        ChatTemplate t = ChatTemplate.parse(MISTRAL);
        assertEquals("<s>[INST] Hi [/INST]Hello!</s>[INST] Tell a story [/INST]",
                t.render(CONVERSATION.subList(1, 4), "<s>", "</s>", true));
        // A leading system message fails the alternation check first; an unknown role at the right parity reaches
        // the else branch.
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.render(CONVERSATION, "<s>", "</s>", true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
        List<Message> withTool = List.of(new Message("user", "Hi"), new Message("tool", "42"));
        e = assertThrows(ChatTemplateException.class, () -> t.render(withTool, "<s>", "</s>", true));
        assertEquals("Only user and assistant roles are supported!", e.getMessage());
    }

    /** Namespace state carried out of a loop, the idiom newer templates (Qwen, Llama-3.1) rely on. */
    @Test
    void namespaceAndIndentedTemplateWithLstripBlocks() {
        String template = """
                {% set ns = namespace(system='', count=0) %}
                {% for m in messages %}
                    {% if m.role == 'system' %}
                        {% set ns.system = m.content %}
                    {% else %}
                        {% set ns.count = ns.count + 1 %}
                    {% endif %}
                {% endfor %}
                system={{ ns.system }} others={{ ns.count }}
                """;
        assertEquals("system=You are kind. others=3",
                ChatTemplate.parse(template).render(CONVERSATION, null, null, false));
    }

    // ---------------------------------------------------------------- unit cases

    private static String render(String template) {
        return ChatTemplate.parse(template).render(CONVERSATION, "<s>", "</s>", true);
    }

    @Test
    void literalsAndArithmetic() {
        assertEquals("7|-1|12|1|2|-2|ab|a1|xxx", render("{{ 3 + 4 }}|{{ 3 - 4 }}|{{ 3 * 4 }}|{{ 7 % 3 }}|{{ 7 // 3 }}"
                + "|{{ -7 // 4 }}|{{ 'a' + \"b\" }}|{{ 'a' ~ 1 }}|{{ 'x' * 3 }}"));
        assertEquals("2|1|5", render("{{ -7 % 3 }}|{{ 1 + 2 * 3 - 6 }}|{{ (1 + 4) }}"));
        assertEquals("True|False|None|True", render("{{ true }}|{{ False }}|{{ none }}|{{ True }}"));
        assertEquals("a\nb\tc'd\"e\\f|\u00e9", render("{{ 'a\\nb\\tc\\'d\\\"e\\\\f' }}|{{ '\\u00e9' }}"));
        assertEquals("ab", render("{{ 'a' 'b' }}"));
        // ~ binds tighter than + (Jinja precedence) and stringifies.
        assertEquals("1None", render("{{ 1 ~ none }}"));
    }

    @Test
    void comparisonsAndLogic() {
        assertEquals("TFTFTT", render("{{ 'T' if 1 == 1 else 'F' }}{{ 'T' if 1 != 1 else 'F' }}"
                + "{{ 'T' if 1 < 2 else 'F' }}{{ 'T' if 2 > 3 else 'F' }}{{ 'T' if 2 <= 2 else 'F' }}"
                + "{{ 'T' if 'b' >= 'a' else 'F' }}"));
        assertEquals("True|False|True|False|True", render("{{ 'el' in 'hello' }}|{{ 'z' in 'hello' }}"
                + "|{{ 2 in [1, 2] }}|{{ 'role' not in messages[0] }}|{{ 'user' in ['user', 'system'] }}"));
        assertEquals("True|False|True|True|False", render("{{ true and 1 == 1 }}|{{ not true }}"
                + "|{{ false or true }}|{{ not false and true }}|{{ true and not true }}"));
        // and/or return operands, as in Python/Jinja.
        assertEquals("x|y|0", render("{{ 'x' or 'y' }}|{{ 'x' and 'y' }}|{{ 0 and 'y' }}"));
        assertEquals("True|True|True", render("{{ 1 == true }}|{{ (1 == 1) != (2 == 3) }}|{{ [1, 'a'] == [1, 'a'] }}"));
    }

    @Test
    void subscriptsSlicesAndAttributes() {
        assertEquals("system|system|Tell a story|2|3", render("{{ messages[0]['role'] }}|{{ messages[0].role }}"
                + "|{{ messages[-1].content }}|{{ messages[1:3] | length }}|{{ messages[1:] | length }}"));
        assertEquals("ell|olleh|hlo|o|h", render("{% set s = 'hello' %}{{ s[1:-1] }}|{{ s[::-1] }}|{{ s[::2] }}"
                + "|{{ s[-1] }}|{{ s[0] }}"));
        assertEquals("[2, 3]|[3, 2, 1]|[]", render("{{ [1, 2, 3][1:] }}|{{ [1, 2, 3][::-1] }}|{{ [1, 2][5:] }}"));
        assertEquals("[|]", render("[{{ messages[10] }}|{{ messages[0].missing }}]"));
    }

    @Test
    void filters() {
        assertEquals("hi|4|HI|hi|12|5", render("{{ '  hi \n' | trim }}|{{ messages | length }}|{{ 'hi' | upper }}"
                + "|{{ 'HI' | lower }}|{{ 12 | string }}|{{ 'hello' | length }}"));
        assertEquals("\"a\\\"b\\n<c>\"", render("{{ 'a\"b\\n<c>' | tojson }}"));
        assertEquals("{\"role\": \"system\", \"content\": \"You are kind.\"}", render("{{ messages[0] | tojson }}"));
        assertEquals("[\n  1,\n  \"x\"\n]", render("{{ [1, 'x'] | tojson(indent=2) }}"));
        assertEquals("a-b|x|x|system", render("{{ ['a', 'b'] | join('-') }}|{{ missing | default('x') }}"
                + "|{{ '' | default('x', true) }}|{{ messages[0] | tojson | length > 0 and messages[0].role }}"));
        assertEquals("HI", render("{{ ' hi ' | trim | upper }}"));
    }

    @Test
    void stringMethods() {
        assertEquals("a b|a b |  a b|X|y|True|False|True", render("{% set s = '  a b ' %}{{ s.strip() }}|"
                + "{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'x'.upper() }}|{{ 'Y'.lower() }}|{{ 'hello'.startswith('he') }}"
                + "|{{ 'hello'.endswith('he') }}|{{ 'hello'.endswith('lo') }}"));
        assertEquals("['a', 'b']|a+b|xx", render("{{ 'a,b'.split(',') }}|{{ 'a b'.replace(' ', '+') }}"
                + "|{{ '--xx--'.strip('-') }}"));
    }

    @Test
    void loopVariables() {
        assertEquals("1/0/T/F/4 2/1/F/F/4 3/2/F/F/4 4/3/F/T/4 ", render("{% for m in messages %}{{ loop.index }}/"
                + "{{ loop.index0 }}/{{ 'T' if loop.first else 'F' }}/{{ 'T' if loop.last else 'F' }}/"
                + "{{ loop.length }} {% endfor %}"));
        assertEquals("4/3/-/user 3/2/system/assistant 2/1/user/user 1/0/assistant/- ", render("{% for m in messages %}"
                + "{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.previtem.role | default('-') }}/"
                + "{{ loop.nextitem.role | default('-') }} {% endfor %}"));
        // Nested loops: the inner loop variable shadows the outer one.
        assertEquals("a1b2|12", render("{% for x in [['a', 1], ['b', 2]] %}{% for y in x %}{{ y }}{% endfor %}"
                + "{% endfor %}|{% for x in [1, 2] %}{% for y in 'ab' %}{% endfor %}{{ loop.index }}{% endfor %}"));
        assertEquals("role,content,|", render("{% for k in messages[0] %}{{ k }},{% endfor %}|{% for x in [] %}x"
                + "{% endfor %}"));
    }

    @Test
    void whitespaceControl() {
        ChatTemplate plain = ChatTemplate.parse("a  \n  {%- if true -%}  \n b \n {{- 'c' -}} \n d{# x #} e{% endif %}", false);
        assertEquals("abcd e", plain.render(List.of(), null, null, false));
        // trim_blocks removes one newline after a block tag; lstrip_blocks removes indentation before it.
        assertEquals("x\ny\n", ChatTemplate.parse("{% if true %}\nx\n  {% endif %}\ny\n\n").render(List.of(), null, null,
                false));
        assertEquals("\nx\n  \ny\n", ChatTemplate.parse("{% if true %}\nx\n  {% endif %}\ny\n\n", false)
                .render(List.of(), null, null, false));
        // {{ }} is not a block tag: neither trimmed nor lstripped.
        assertEquals("  1\n2", ChatTemplate.parse("  {{ 1 }}\n{{ 2 }}").render(List.of(), null, null, false));
        // {%+ disables lstrip_blocks for that tag.
        assertEquals("  x", ChatTemplate.parse("  {%+ if true %}x{% endif %}").render(List.of(), null, null, false));
    }

    @Test
    void setScoping() {
        assertEquals("outer|outer", render("{% set x = 'outer' %}{% for m in messages %}{% set x = 'inner' %}"
                + "{% endfor %}{{ x }}|{% for m in messages %}{% if loop.first %}{{ x }}{% endif %}{% endfor %}"));
        // Like Jinja, a set in one iteration does not carry over to the next.
        assertEquals("1111", render("{% set n = 0 %}{% for m in messages %}{% set n = n + 1 %}{{ n }}{% endfor %}"));
        // An if block is not a scope.
        assertEquals("yes", render("{% if true %}{% set y = 'yes' %}{% endif %}{{ y }}"));
    }

    @Test
    void undefinedHandling() {
        assertEquals("[]", render("[{{ nope }}]"));
        assertEquals("[]", render("[{{ nope.deeper['x'].y }}]"));
        assertEquals("F|T|T|F|T|T", render("{{ 'T' if nope else 'F' }}|{{ 'T' if nope is not defined else 'F' }}"
                + "|{{ 'T' if bos_token is defined else 'F' }}|{{ 'T' if nope is none else 'F' }}"
                + "|{{ 'T' if tools is none else 'F' }}|{{ 'T' if messages[0].content is string else 'F' }}"));
        assertEquals("0|", render("{{ nope | length }}|{% for x in nope %}x{% endfor %}"));
        assertEquals("F", ChatTemplate.parse("{{ 'T' if bos_token is defined else 'F' }}").render(List.of(), null,
                null, false));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render("{{ nope + 'x' }}"));
        assertTrue(e.getMessage().contains("undefined"), e.getMessage());
    }

    @Test
    void runtimeTypeErrors() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render("{{ 'a' + 1 }}"));
        assertEquals("unsupported operand types for +: str and int", e.getMessage());
        assertThrows(ChatTemplateException.class, () -> render("{{ 1 // 0 }}"));
        assertThrows(ChatTemplateException.class, () -> render("{% set x = 1 %}{% set x.y = 2 %}"));
    }

    @Test
    void syntaxErrorsNamePositionAndProblem() {
        assertSyntaxError("a\n  {% if true %}x", "line 2, column 3", "unclosed '{% if %}'", "endif");
        assertSyntaxError("{% for m in messages %}x", "line 1, column 1", "unclosed '{% for %}'", "endfor");
        assertSyntaxError("ok {% frobnicate %}", "line 1, column 4", "unknown tag 'frobnicate'");
        assertSyntaxError("{{ 'x' | shout }}", "line 1, column 10", "unknown filter 'shout'");
        assertSyntaxError("{% macro m() %}{% endmacro %}", "unsupported tag 'macro'");
        assertSyntaxError("{{ 'x' ", "unclosed '{{'");
        assertSyntaxError("{{ 'x }}", "unterminated string literal");
        assertSyntaxError("{% endif %}", "unexpected '{% endif %}'");
        assertSyntaxError("{{ foo(1) }}", "unknown function 'foo'");
        assertSyntaxError("{{ x.shout() }}", "unknown method 'shout'");
        assertSyntaxError("{{ x is shiny }}", "unknown test 'shiny'");
        assertSyntaxError("{{ 1 + }}", "expected an expression but found '}}'");
        assertSyntaxError("{{ 1 2 }}", "expected '}}' but found '2'");
        assertSyntaxError("{# never closed", "unclosed comment");
        assertSyntaxError("{% break %}", "unsupported tag 'break'");
        assertSyntaxError("{% for m in messages if m %}{% endfor %}", "loop filters");
        assertSyntaxError("{{ 1 < 2 < 3 }}", "chained comparisons are not supported");
        assertSyntaxError("{{ 1.5 }}", "floating-point literals are not supported");
        assertSyntaxError("{{ 1 / 2 }}", "'/' is not supported");
    }

    private static void assertSyntaxError(String template, String... fragments) {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.parse(template));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
        }
    }
}

package dev.chorus.engine.tokenizer;

import static dev.chorus.engine.tokenizer.ChatTemplateLexer.Kind.*;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a chat template into text and tag tokens, applying Jinja's whitespace control ("-" and "+"
 * modifiers, and trim_blocks / lstrip_blocks when {@code hf}) as it goes.
 */
final class ChatTemplateLexer {
    enum Kind { TEXT, VAR_OPEN, VAR_CLOSE, BLOCK_OPEN, BLOCK_CLOSE, NAME, STRING, INT, OP, EOF }

    record Tok(Kind kind, String text, int pos) {}

    private static final Pattern OPEN = Pattern.compile("\\{[{%#]");
    /** One token inside a tag; tag closes come first so "-%}" is not read as a minus, and "==" before "=". */
    private static final Pattern TOKEN = Pattern.compile("\\s*(?:(?<close>[-+]?(?:%\\}|\\}\\}))|(?<name>[A-Za-z_]\\w*)"
            + "|(?<float>\\d+\\.\\d)|(?<int>\\d+)|(?<str>'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\")"
            + "|(?<op>==|!=|<=|>=|//|\\*\\*|[-+*/%~<>=()\\[\\]{}.,:|]))", Pattern.DOTALL);

    private final String src;
    private final boolean hf;
    private final List<Tok> toks = new ArrayList<>();
    private boolean stripNextText; // set by a "-%}", "-}}" or "-#}" close

    private ChatTemplateLexer(String src, boolean hf) {
        this.src = src;
        this.hf = hf;
    }

    static List<Tok> lex(String src, boolean hf) {
        ChatTemplateLexer lexer = new ChatTemplateLexer(src, hf);
        lexer.lex();
        return lexer.toks;
    }

    private void lex() {
        int i = 0;
        int n = src.length();
        Matcher open = OPEN.matcher(src);
        while (i < n) {
            int j = open.find(i) ? open.start() : n;
            char kind = j < n ? src.charAt(j + 1) : ' ';
            char mod = j + 2 < n ? src.charAt(j + 2) : ' ';
            String text = stripNextText ? src.substring(i, j).stripLeading() : src.substring(i, j);
            if (j < n && mod == '-') text = text.stripTrailing();
            else if (j < n && hf && kind != '{' && mod != '+') text = lstripBlock(text, i == 0 || src.charAt(i - 1) == '\n');
            if (!text.isEmpty()) toks.add(new Tok(TEXT, text, i));
            if (j == n) break;
            int k = mod == '-' || mod == '+' ? j + 3 : j + 2;
            if (kind == '#') {
                int end = src.indexOf("#}", k);
                if (end < 0) throw error(j, "unclosed comment '{#'");
                char closeMod = end > k ? src.charAt(end - 1) : ' ';
                stripNextText = closeMod == '-';
                i = closeMod != '-' && closeMod != '+' ? trimBlock(end + 2) : end + 2;
            } else {
                toks.add(new Tok(kind == '%' ? BLOCK_OPEN : VAR_OPEN, "{" + kind, j));
                i = lexTag(k, kind == '%', j);
            }
        }
        toks.add(new Tok(EOF, "", n));
    }

    /** lstrip_blocks: drop the spaces/tabs between the start of a line and a block or comment tag. */
    private static String lstripBlock(String text, boolean startsLine) {
        int nl = text.lastIndexOf('\n');
        if (nl < 0 && !startsLine) return text;
        for (int k = nl + 1; k < text.length(); k++) if (text.charAt(k) != ' ' && text.charAt(k) != '\t') return text;
        return text.substring(0, nl + 1);
    }

    /** trim_blocks: drop the first newline after a block or comment tag. */
    private int trimBlock(int i) {
        return hf && i < src.length() && src.charAt(i) == '\n' ? i + 1 : i;
    }

    /** Lexes the tokens inside a {{ }} or {% %} tag, up to and including its close; returns the index after it. */
    private int lexTag(int i, boolean block, int open) {
        Matcher m = TOKEN.matcher(src);
        while (m.region(i, src.length()).lookingAt()) {
            i = m.end();
            String close = m.group("close");
            if (close != null && close.endsWith(block ? "%}" : "}}")) {
                toks.add(new Tok(block ? BLOCK_CLOSE : VAR_CLOSE, close.substring(close.length() - 2), m.start("close")));
                stripNextText = close.startsWith("-");
                return close.length() == 3 || !block ? i : trimBlock(i);
            }
            if (m.group("float") != null) throw error(m.start("float"), "floating-point literals are not supported");
            String group = close != null ? "close" : m.group("name") != null ? "name" : m.group("int") != null ? "int"
                    : m.group("str") != null ? "str" : "op";
            Kind kind = switch (group) {
                case "name" -> NAME;
                case "int" -> INT;
                case "str" -> STRING;
                default -> OP; // a close of the other tag kind becomes an OP the parser reports as unexpected
            };
            String text = m.group(group);
            toks.add(new Tok(kind, kind == STRING ? unescape(text.substring(1, text.length() - 1)) : text, m.start(group)));
        }
        String rest = src.substring(i).stripLeading();
        if (rest.isEmpty()) throw error(open, "unclosed '" + src.substring(open, open + 2) + "'");
        boolean quote = rest.charAt(0) == '\'' || rest.charAt(0) == '"';
        throw error(src.length() - rest.length(), quote ? "unterminated string literal" : "unexpected character '"
                + rest.charAt(0) + "'");
    }

    /** Python string-literal escapes; unknown ones are kept verbatim, as Python does. */
    private static String unescape(String body) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < body.length(); k++) {
            char c = body.charAt(k);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = body.charAt(++k); // the TOKEN regex guarantees a character after each backslash
            int known = "nrt\\'\"".indexOf(e);
            if (e == 'u' && body.substring(k + 1).matches("(?s)\\p{XDigit}{4}.*")) {
                sb.append((char) Integer.parseInt(body.substring(k + 1, k + 5), 16));
                k += 4;
            } else if (e != '\n') { // backslash-newline is a line continuation
                sb.append(known < 0 ? "\\" + e : String.valueOf("\n\r\t\\'\"".charAt(known)));
            }
        }
        return sb.toString();
    }

    private ChatTemplateException error(int pos, String message) {
        return error(src, pos, message);
    }

    /** An error naming the line and column of {@code pos} in {@code src}. */
    static ChatTemplateException error(String src, int pos, String message) {
        String before = src.substring(0, Math.min(pos, src.length()));
        int line = (int) before.chars().filter(c -> c == '\n').count() + 1;
        int column = before.length() - before.lastIndexOf('\n');
        return new ChatTemplateException("chat template error at line " + line + ", column " + column + ": " + message);
    }
}

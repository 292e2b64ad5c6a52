package dev.chorus.engine.tokenizer;

import static dev.chorus.engine.tokenizer.ChatTemplate.UNDEFINED;
import static dev.chorus.engine.tokenizer.ChatTemplate.truthy;
import static dev.chorus.engine.tokenizer.ChatTemplateLexer.Kind.*;

import dev.chorus.engine.tokenizer.ChatTemplate.Namespace;
import dev.chorus.engine.tokenizer.ChatTemplate.Scope;
import dev.chorus.engine.tokenizer.ChatTemplateLexer.Kind;
import dev.chorus.engine.tokenizer.ChatTemplateLexer.Tok;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the Jinja subset used by chat templates, compiling it straight into closures so that rendering is
 * a plain tree walk. Everything that can be rejected statically (unknown tags, filters, tests, functions, methods) is
 * rejected here with a line and column, so a bad template fails when the model loads, not on the first request.
 */
final class ChatTemplateParser {
    interface Expr {
        Object eval(Scope s);
    }

    interface Node {
        void render(Scope s, StringBuilder out);
    }

    private static final Set<String> FILTERS = Set.of("trim", "length", "count", "upper", "lower", "string",
            "tojson", "join", "default");
    private static final Set<String> TESTS = Set.of("defined", "undefined", "none", "string", "number", "integer",
            "boolean", "true", "false", "mapping", "sequence", "iterable", "even", "odd");
    private static final Set<String> METHODS = Set.of("strip", "lstrip", "rstrip", "upper", "lower", "startswith",
            "endswith", "split", "replace", "get");
    private static final Set<String> UNSUPPORTED_TAGS = Set.of("macro", "call", "filter", "block", "extends",
            "include", "import", "from", "with", "raw", "autoescape", "do", "break", "continue", "generation");
    /** Binary operators by precedence level, loosest first, as in Jinja's grammar ("not" sits above level 2). */
    private static final List<Set<String>> LEVELS = List.of(Set.of("or"), Set.of("and"),
            Set.of("==", "!=", "<", ">", "<=", ">=", "in", "not in"), Set.of("+", "-"), Set.of("~"),
            Set.of("*", "//", "%", "/"));

    private final String src;
    private final List<Tok> toks;
    private int p;

    private ChatTemplateParser(String src, List<Tok> toks) {
        this.src = src;
        this.toks = toks;
    }

    /**
     * @param hf apply trim_blocks and lstrip_blocks, as transformers' apply_chat_template configures Jinja; without
     *     them the newline after each {% %} tag is output (plain Jinja defaults).
     */
    static Node parse(String template, boolean hf) {
        // Like Jinja: normalise newlines and drop one trailing newline (keep_trailing_newline=False).
        String src = template.replace("\r\n", "\n").replace('\r', '\n');
        if (src.endsWith("\n")) src = src.substring(0, src.length() - 1);
        return seq(new ChatTemplateParser(src, ChatTemplateLexer.lex(src, hf)).parseBlock(null));
    }

    // ---------------------------------------------------------------- statements

    private static Node seq(List<Node> nodes) {
        Node[] arr = nodes.toArray(new Node[0]);
        return arr.length == 1 ? arr[0] : (s, out) -> {
            for (Node node : arr) node.render(s, out);
        };
    }

    /** Parses until the end (opener == null) or a tag named in ends, whose name is left as the next token. */
    private List<Node> parseBlock(Tok opener, String... ends) {
        List<Node> nodes = new ArrayList<>();
        for (Tok t = next(); t.kind() != EOF; t = next()) {
            String text = t.text();
            if (t.kind() == TEXT) {
                nodes.add((s, out) -> out.append(text));
            } else if (t.kind() == VAR_OPEN) {
                Expr e = parseExpr(false);
                expect(VAR_CLOSE, "'}}'");
                nodes.add((s, out) -> out.append(ChatTemplate.str(e.eval(s))));
            } else if (t.kind() == BLOCK_OPEN) {
                Tok name = expect(NAME, "a tag name");
                if (List.of(ends).contains(name.text())) {
                    p--;
                    return nodes;
                }
                nodes.add(parseStatement(new Tok(NAME, name.text(), t.pos()))); // errors point at the "{%"
            } else {
                throw error(t.pos(), "unexpected " + describe(t));
            }
        }
        if (opener == null) return nodes;
        throw error(opener.pos(), "unclosed '{% " + opener.text() + " %}': expected '{% " + ends[ends.length - 1]
                + " %}' before the end of the template");
    }

    private Node parseStatement(Tok tag) {
        switch (tag.text()) {
            case "if": return parseIf(tag);
            case "for": return parseFor(tag);
            case "set": return parseSet();
            case "elif", "else", "endif", "endfor":
                throw error(tag.pos(), "unexpected '{% " + tag.text() + " %}' without a matching opening tag");
            default:
                String what = UNSUPPORTED_TAGS.contains(tag.text()) ? "unsupported" : "unknown";
                throw error(tag.pos(), what + " tag '" + tag.text() + "'");
        }
    }

    private Node parseIf(Tok opener) {
        Expr cond = parseExpr(false);
        expect(BLOCK_CLOSE, "'%}'");
        Node then = seq(parseBlock(opener, "elif", "else", "endif"));
        String end = next().text();
        Node orElse = end.equals("elif") ? parseIf(opener) : null; // an elif chain shares the one endif
        if (!end.equals("elif")) expect(BLOCK_CLOSE, "'%}'");
        if (end.equals("else")) {
            orElse = seq(parseBlock(opener, "endif"));
            p++;
            expect(BLOCK_CLOSE, "'%}'");
        }
        Node otherwise = orElse;
        return (s, out) -> {
            if (truthy(cond.eval(s))) then.render(s, out);
            else if (otherwise != null) otherwise.render(s, out);
        };
    }

    private Node parseFor(Tok opener) {
        String target = expect(NAME, "a loop variable name").text();
        if (at(OP, ",")) throw error(peek().pos(), "tuple unpacking in '{% for %}' is not supported");
        if (!accept(NAME, "in")) throw error(peek().pos(), "expected 'in' but found " + describe(peek()));
        Expr iter = parseExpr(true); // Jinja reads "for x in xs if c" as a loop filter, not an inline if
        if (peek().kind() != BLOCK_CLOSE) throw error(peek().pos(), "loop filters and 'recursive' are not supported");
        expect(BLOCK_CLOSE, "'%}'");
        Node body = seq(parseBlock(opener, "endfor"));
        p++;
        expect(BLOCK_CLOSE, "'%}'");
        return (s, out) -> ChatTemplate.loop(s, out, target, iter.eval(s), body);
    }

    private Node parseSet() {
        String name = expect(NAME, "a variable name").text();
        String attr = accept(OP, ".") ? expect(NAME, "an attribute name").text() : null;
        if (!accept(OP, "=")) throw error(peek().pos(), "expected '=' but found " + describe(peek()));
        Expr value = parseExpr(false);
        expect(BLOCK_CLOSE, "'%}'");
        if (attr == null) return (s, out) -> s.set(name, value.eval(s));
        return (s, out) -> {
            if (!(s.get(name) instanceof Namespace ns)) {
                throw new ChatTemplateException("cannot set attribute '" + attr + "' of '" + name
                        + "': only namespace() objects support attribute assignment");
            }
            ns.put(attr, value.eval(s));
        };
    }

    // ---------------------------------------------------------------- expressions

    private Expr parseExpr(boolean noInlineIf) {
        Expr e = parseLevel(0);
        if (noInlineIf || !accept(NAME, "if")) return e;
        Expr cond = parseLevel(0);
        Expr other = accept(NAME, "else") ? parseExpr(false) : s -> UNDEFINED;
        return s -> truthy(cond.eval(s)) ? e.eval(s) : other.eval(s);
    }

    /** Precedence climbing over LEVELS; "and"/"or" short-circuit and return an operand, as in Python. */
    private Expr parseLevel(int level) {
        if (level == LEVELS.size()) return parseUnary();
        if (level == 2 && accept(NAME, "not")) {
            Expr e = parseLevel(2);
            return s -> !truthy(e.eval(s));
        }
        Expr l = parseLevel(level + 1);
        for (String op = binaryOp(level); op != null; op = binaryOp(level)) {
            Expr a = l;
            Expr b = parseLevel(level + 1);
            String o = op;
            l = switch (o) {
                case "or" -> s -> {
                    Object v = a.eval(s);
                    return truthy(v) ? v : b.eval(s);
                };
                case "and" -> s -> {
                    Object v = a.eval(s);
                    return truthy(v) ? b.eval(s) : v;
                };
                default -> s -> ChatTemplate.binary(o, a.eval(s), b.eval(s));
            };
            if (level == 2 && binaryOp(level) != null) {
                throw error(toks.get(p - 1).pos(), "chained comparisons are not supported");
            }
        }
        return l;
    }

    /** Consumes and returns the next token if it is a binary operator of the given level. */
    private String binaryOp(int level) {
        Tok t = peek();
        Tok after = toks.get(Math.min(p + 1, toks.size() - 1));
        String op = t.kind() == NAME && t.text().equals("not") && after.text().equals("in") && after.kind() == NAME ? "not in"
                : t.kind() == OP || (t.kind() == NAME && Set.of("or", "and", "in").contains(t.text())) ? t.text() : null;
        if (op == null || !LEVELS.get(level).contains(op)) return null;
        if (op.equals("/")) throw error(t.pos(), "operator '/' is not supported (integers only); use '//'");
        p += op.equals("not in") ? 2 : 1;
        return op;
    }

    /** Unary minus, then postfix, then filters and tests, which bind tighter than any binary operator. */
    private Expr parseUnary() {
        Expr e;
        if (accept(OP, "-")) {
            Expr inner = parsePostfix(parsePrimary());
            e = s -> ChatTemplate.binary("-", 0L, inner.eval(s));
        } else {
            e = parsePostfix(parsePrimary());
        }
        while (true) {
            Expr v = e;
            if (accept(OP, "|")) {
                Tok name = expect(NAME, "a filter name");
                if (!FILTERS.contains(name.text())) throw error(name.pos(), "unknown filter '" + name.text() + "'");
                Map<String, Expr> kwargs = new LinkedHashMap<>();
                List<Expr> args = at(OP, "(") ? parseArgs(kwargs) : List.of();
                e = s -> ChatTemplate.filter(name.text(), v.eval(s), evalAll(args, s), evalAll(kwargs, s));
            } else if (accept(NAME, "is")) {
                boolean negate = accept(NAME, "not");
                Tok name = expect(NAME, "a test name");
                if (!TESTS.contains(name.text())) throw error(name.pos(), "unknown test '" + name.text() + "'");
                e = s -> ChatTemplate.test(name.text(), v.eval(s)) != negate;
            } else {
                return e;
            }
        }
    }

    private Expr parsePrimary() {
        Tok t = next();
        if (t.kind() == STRING) {
            StringBuilder sb = new StringBuilder(t.text()); // adjacent literals concatenate, as in Python
            while (peek().kind() == STRING) sb.append(next().text());
            String v = sb.toString();
            return s -> v;
        } else if (t.kind() == INT) {
            if (t.text().length() > 18) throw error(t.pos(), "integer literal out of range");
            Long v = Long.valueOf(t.text());
            return s -> v;
        } else if (t.kind() == NAME) {
            switch (t.text()) {
                case "true", "True": return s -> true;
                case "false", "False": return s -> false;
                case "none", "None": return s -> null;
                default: if (!at(OP, "(")) return s -> s.get(t.text());
            }
            if (!t.text().equals("raise_exception") && !t.text().equals("namespace")) {
                throw error(t.pos(), "unknown function '" + t.text() + "'");
            }
            Map<String, Expr> kwargs = new LinkedHashMap<>();
            List<Expr> args = parseArgs(kwargs);
            return s -> ChatTemplate.call(t.text(), evalAll(args, s), evalAll(kwargs, s));
        } else if (t.kind() == OP && t.text().equals("(")) {
            Expr e = parseExpr(false);
            expectOp(")");
            return e;
        } else if (t.kind() == OP && t.text().equals("[")) {
            List<Expr> items = new ArrayList<>();
            while (!accept(OP, "]")) {
                items.add(parseExpr(false));
                if (!at(OP, "]")) expectOp(",");
            }
            return s -> evalAll(items, s);
        }
        throw error(t.pos(), "expected an expression but found " + describe(t));
    }

    private Expr parsePostfix(Expr e) {
        while (true) {
            Expr target = e;
            if (accept(OP, ".")) {
                Tok name = expect(NAME, "an attribute name");
                if (!at(OP, "(")) {
                    e = s -> ChatTemplate.item(target.eval(s), name.text()); // Jinja falls back from attrs to keys
                    continue;
                }
                if (!METHODS.contains(name.text())) throw error(name.pos(), "unknown method '" + name.text() + "'");
                List<Expr> args = parseArgs(null);
                e = s -> ChatTemplate.method(target.eval(s), name.text(), evalAll(args, s));
            } else if (accept(OP, "[")) {
                Expr start = at(OP, ":") ? s -> null : parseExpr(false); // null means "omitted" to slice()
                if (accept(OP, ":")) {
                    Expr stop = at(OP, ":") || at(OP, "]") ? s -> null : parseExpr(false);
                    Expr step = accept(OP, ":") && !at(OP, "]") ? parseExpr(false) : s -> null;
                    e = s -> ChatTemplate.slice(target.eval(s), start.eval(s), stop.eval(s), step.eval(s));
                } else {
                    e = s -> ChatTemplate.item(target.eval(s), start.eval(s));
                }
                expectOp("]");
            } else {
                return e;
            }
        }
    }

    /** Parses "(a, b, k=v)"; keyword arguments go into kwargs, or are rejected when it is null. */
    private List<Expr> parseArgs(Map<String, Expr> kwargs) {
        expectOp("(");
        List<Expr> positional = new ArrayList<>();
        while (!accept(OP, ")")) {
            Tok t = peek();
            if (t.kind() == NAME && toks.get(p + 1).kind() == OP && toks.get(p + 1).text().equals("=")) {
                if (kwargs == null) throw error(t.pos(), "keyword arguments are not supported here");
                p += 2;
                kwargs.put(t.text(), parseExpr(false));
            } else if (kwargs == null || kwargs.isEmpty()) {
                positional.add(parseExpr(false));
            } else {
                throw error(t.pos(), "positional argument after keyword argument");
            }
            if (!at(OP, ")")) expectOp(",");
        }
        return positional;
    }

    // Evaluated into mutable collections because None is null, which List.of/Map.of reject.
    private static List<Object> evalAll(List<Expr> exprs, Scope s) {
        List<Object> out = new ArrayList<>();
        exprs.forEach(e -> out.add(e.eval(s)));
        return out;
    }

    private static Map<String, Object> evalAll(Map<String, Expr> exprs, Scope s) {
        Map<String, Object> out = new LinkedHashMap<>();
        exprs.forEach((k, e) -> out.put(k, e.eval(s)));
        return out;
    }

    // ---------------------------------------------------------------- token helpers

    private Tok peek() {
        return toks.get(p);
    }

    private Tok next() {
        Tok t = toks.get(p);
        if (t.kind() != EOF) p++;
        return t;
    }

    private boolean at(Kind kind, String text) {
        return peek().kind() == kind && peek().text().equals(text);
    }

    private boolean accept(Kind kind, String text) {
        if (!at(kind, text)) return false;
        p++;
        return true;
    }

    private void expectOp(String op) {
        if (!accept(OP, op)) throw error(peek().pos(), "expected '" + op + "' but found " + describe(peek()));
    }

    private Tok expect(Kind kind, String what) {
        if (peek().kind() != kind) throw error(peek().pos(), "expected " + what + " but found " + describe(peek()));
        return next();
    }

    private static String describe(Tok t) {
        return t.kind() == EOF ? "the end of the template" : t.kind() == STRING ? "a string literal" : "'" + t.text() + "'";
    }

    private ChatTemplateException error(int pos, String message) {
        return ChatTemplateLexer.error(src, pos, message);
    }
}

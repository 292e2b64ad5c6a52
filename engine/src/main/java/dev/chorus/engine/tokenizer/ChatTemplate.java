package dev.chorus.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Renders a Hugging Face {@code chat_template} (from tokenizer_config.json) with a small Jinja2 interpreter covering
 * the subset real templates use (ChatML, Llama-2/3, Zephyr, Mistral): if/for/set, loop variables, namespaces,
 * whitespace control, common filters and tests, and Python string methods.
 *
 * <p>Values follow Python/Jinja semantics: strings, {@code Long} integers, booleans, {@code null} for None, lists,
 * maps, and a distinct undefined value that renders as "" and is falsy. By default whitespace is handled the way
 * transformers' {@code apply_chat_template} configures Jinja (trim_blocks and lstrip_blocks), so prompts match what
 * the model was trained on.
 */
public final class ChatTemplate {
    public record Message(String role, String content) {}

    /** Jinja's Undefined: a missing variable, key, index or attribute. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "Undefined";
        }
    };

    private final ChatTemplateParser.Node root;

    private ChatTemplate(ChatTemplateParser.Node root) {
        this.root = root;
    }

    /** Parses with transformers' whitespace settings (trim_blocks, lstrip_blocks). */
    public static ChatTemplate parse(String template) {
        return parse(template, true);
    }

    /** @param hfWhitespace false selects plain Jinja defaults, where the newline after each {% %} tag is output. */
    public static ChatTemplate parse(String template, boolean hfWhitespace) {
        return new ChatTemplate(ChatTemplateParser.parse(Objects.requireNonNull(template, "template"), hfWhitespace));
    }

    /** A null bos/eos token is left undefined, as transformers omits special tokens a tokenizer lacks. */
    public String render(List<Message> messages, String bosToken, String eosToken, boolean addGenerationPrompt) {
        List<Object> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Scope globals = new Scope(null);
        globals.set("messages", msgs);
        if (bosToken != null) globals.set("bos_token", bosToken);
        if (eosToken != null) globals.set("eos_token", eosToken);
        globals.set("add_generation_prompt", addGenerationPrompt);
        // transformers passes these as None, so "tools is not none" must be false rather than undefined-true.
        globals.set("tools", null);
        globals.set("documents", null);
        StringBuilder out = new StringBuilder();
        root.render(new Scope(globals), out);
        return out.toString();
    }

    /** A variable frame; each for-loop iteration gets a child frame so its {% set %}s stay local, as in Jinja. */
    static final class Scope {
        private final Map<String, Object> vars = new HashMap<>();
        private final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) return s.vars.get(name);
            }
            return UNDEFINED;
        }

        void set(String name, Object value) {
            vars.put(name, value);
        }
    }

    /** The one mutable value, so {@code {% set ns.x = ... %}} can carry state out of a loop body. */
    static final class Namespace extends LinkedHashMap<String, Object> {
        private static final long serialVersionUID = 1L;
    }

    static void loop(Scope s, StringBuilder out, String target, Object iterable, ChatTemplateParser.Node body) {
        List<?> items = iterate(iterable);
        int n = items.size();
        for (int i = 0; i < n; i++) {
            Scope inner = new Scope(s); // fresh per iteration: sets neither leak out nor carry over, as in Jinja
            inner.set(target, items.get(i));
            Map<String, Object> loop = new HashMap<>();
            loop.put("index", i + 1L);
            loop.put("index0", (long) i);
            loop.put("revindex", (long) (n - i));
            loop.put("revindex0", n - i - 1L);
            loop.put("first", i == 0);
            loop.put("last", i == n - 1);
            loop.put("length", (long) n);
            if (i > 0) loop.put("previtem", items.get(i - 1));
            if (i < n - 1) loop.put("nextitem", items.get(i + 1));
            inner.set("loop", loop);
            body.render(inner, out);
        }
    }

    // ---------------------------------------------------------------- Python value semantics

    static boolean truthy(Object v) {
        if (v == null || v == UNDEFINED) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof Long n) return n != 0;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof Collection<?> c) return !c.isEmpty();
        return !(v instanceof Map<?, ?> m) || v instanceof Namespace || !m.isEmpty();
    }

    /** Python str(), except that undefined renders as "" (Jinja's default Undefined). */
    static String str(Object v) {
        return v == UNDEFINED ? "" : v instanceof String s ? s : repr(v);
    }

    private static String repr(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof String s) { // Python picks double quotes when that avoids escaping a single quote
            String q = s.contains("'") && !s.contains("\"") ? "\"" : "'";
            return q + s.replace("\\", "\\\\").replace(q, "\\" + q).replace("\n", "\\n") + q;
        }
        if (v instanceof List<?> l) return l.stream().map(ChatTemplate::repr).collect(Collectors.joining(", ", "[", "]"));
        if (v instanceof Map<?, ?> m) {
            return m.entrySet().stream().map(e -> repr(e.getKey()) + ": " + repr(e.getValue()))
                    .collect(Collectors.joining(", ", v instanceof Namespace ? "<Namespace {" : "{", "}"));
        }
        return String.valueOf(v);
    }

    static String typeName(Object v) {
        if (v == null || v == UNDEFINED) return v == null ? "NoneType" : "Undefined";
        if (v instanceof Map) return v instanceof Namespace ? "Namespace" : "dict";
        return v instanceof String ? "str" : v instanceof Long ? "int" : v instanceof Boolean ? "bool" : "list";
    }

    // Python treats bool as an int subtype: True == 1 and True + 1 == 2.
    private static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    private static long asLong(Object v) {
        if (!isInt(v)) throw new ChatTemplateException("expected an integer but got " + typeName(v));
        return v instanceof Boolean b ? (b ? 1 : 0) : (Long) v;
    }

    private static boolean eq(Object a, Object b) {
        if (isInt(a) && isInt(b)) return asLong(a) == asLong(b);
        if (!(a instanceof List<?> x && b instanceof List<?> y)) return Objects.equals(a, b);
        if (x.size() != y.size()) return false;
        for (int i = 0; i < x.size(); i++) if (!eq(x.get(i), y.get(i))) return false;
        return true;
    }

    private static boolean contains(Object container, Object item) {
        if (container instanceof String s && item instanceof String x) return s.contains(x);
        if (container instanceof List<?> l) return l.stream().anyMatch(e -> eq(e, item));
        if (container instanceof Map<?, ?> m) return m.containsKey(item);
        if (container == UNDEFINED) return false;
        throw new ChatTemplateException("'in' not supported between " + typeName(item) + " and " + typeName(container));
    }

    /** Every binary operator except the short-circuiting and/or. */
    static Object binary(String op, Object a, Object b) {
        switch (op) {
            case "~": return str(a) + str(b);
            case "==": return eq(a, b);
            case "!=": return !eq(a, b);
            case "in": return contains(b, a);
            case "not in": return !contains(b, a);
            default: break;
        }
        if (a == UNDEFINED || b == UNDEFINED) { // Jinja's default Undefined refuses these too
            throw new ChatTemplateException("undefined value used as an operand of '" + op + "'");
        }
        if (op.startsWith("<") || op.startsWith(">")) {
            int c;
            if (isInt(a) && isInt(b)) c = Long.compare(asLong(a), asLong(b));
            else if (a instanceof String x && b instanceof String y) c = x.compareTo(y);
            else throw new ChatTemplateException("'" + op + "' not supported between " + typeName(a) + " and "
                    + typeName(b));
            return op.equals("<") ? c < 0 : op.equals(">") ? c > 0 : op.equals("<=") ? c <= 0 : c >= 0;
        }
        if (isInt(a) && isInt(b)) {
            long x = asLong(a);
            long y = asLong(b);
            if (y == 0 && (op.equals("%") || op.equals("//"))) {
                throw new ChatTemplateException("integer division or modulo by zero");
            }
            return switch (op) {
                case "+" -> x + y;
                case "-" -> x - y;
                case "*" -> x * y;
                case "%" -> Math.floorMod(x, y); // Python rounds towards negative infinity
                default -> Math.floorDiv(x, y);
            };
        }
        if (op.equals("+") && a instanceof String x && b instanceof String y) return x + y;
        if (op.equals("+") && a instanceof List<?> x && b instanceof List<?> y) {
            List<Object> joined = new ArrayList<>(x);
            joined.addAll(y);
            return joined;
        }
        if (op.equals("*") && a instanceof String x && b instanceof Long n) return x.repeat((int) Math.max(0, n));
        throw new ChatTemplateException("unsupported operand types for " + op + ": " + typeName(a) + " and "
                + typeName(b));
    }

    /** a[key] and a.key: like Jinja, a missing key or index, or an unsubscriptable value, yields undefined. */
    static Object item(Object obj, Object key) {
        if (obj instanceof Map<?, ?> m) return m.containsKey(key) ? m.get(key) : UNDEFINED;
        if (!(key instanceof Long i) || !(obj instanceof List || obj instanceof String)) return UNDEFINED;
        int n = len(obj);
        long k = i < 0 ? i + n : i;
        if (k < 0 || k >= n) return UNDEFINED;
        return obj instanceof List<?> l ? l.get((int) k) : String.valueOf(((String) obj).charAt((int) k));
    }

    /** Python slicing a[start:stop:step]; null bounds are omitted ones. */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (!(obj instanceof List || obj instanceof String)) return UNDEFINED;
        int n = len(obj);
        long st = step == null ? 1 : asLong(step);
        if (st == 0) throw new ChatTemplateException("slice step cannot be zero");
        long lo = st > 0 ? bound(start, n, 0, 0, n) : bound(start, n, n - 1, -1, n - 1);
        long hi = st > 0 ? bound(stop, n, n, 0, n) : bound(stop, n, -1, -1, n - 1);
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) out.add(item(obj, i));
        return obj instanceof List ? out : out.stream().map(String.class::cast).collect(Collectors.joining());
    }

    private static long bound(Object v, int n, long omitted, long min, long max) {
        if (v == null) return omitted;
        long x = asLong(v);
        return Math.max(min, Math.min(max, x < 0 ? x + n : x));
    }

    private static List<?> iterate(Object v) {
        if (v == UNDEFINED) return List.of();
        if (v instanceof List<?> l) return l;
        if (v instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
        if (v instanceof String s) return s.chars().mapToObj(c -> String.valueOf((char) c)).toList();
        throw new ChatTemplateException("'" + typeName(v) + "' object is not iterable");
    }

    private static int len(Object v) {
        if (v instanceof String s) return s.length();
        if (v instanceof Collection<?> c) return c.size();
        if (v instanceof Map<?, ?> m) return m.size();
        if (v == UNDEFINED) return 0;
        throw new ChatTemplateException("object of type '" + typeName(v) + "' has no len()");
    }

    // ---------------------------------------------------------------- filters, tests, methods, functions

    static Object filter(String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        Object arg0 = args.isEmpty() ? null : args.get(0);
        return switch (name) {
            case "trim" -> strip(str(v), arg0, true, true);
            case "upper" -> str(v).toUpperCase(Locale.ROOT);
            case "lower" -> str(v).toLowerCase(Locale.ROOT);
            case "string" -> str(v);
            case "length", "count" -> (long) len(v);
            case "join" -> iterate(v).stream().map(ChatTemplate::str).collect(Collectors.joining(str(arg0 == null ? "" : arg0)));
            case "default" -> { // default(value, boolean=false): with boolean, falsy values are replaced too
                boolean falsyToo = truthy(args.size() > 1 ? args.get(1) : kwargs.get("boolean"));
                yield v == UNDEFINED || (falsyToo && !truthy(v)) ? (arg0 == null ? "" : arg0) : v;
            }
            case "tojson" -> {
                if (!Set.of("indent").containsAll(kwargs.keySet())) throw new ChatTemplateException("tojson() supports only indent=");
                yield json(v, kwargs.get("indent") == null ? -1 : (int) asLong(kwargs.get("indent")), 0);
            }
            default -> throw new IllegalStateException("filter not implemented: " + name);
        };
    }

    /**
     * transformers swaps Jinja's HTML-escaping tojson for json.dumps(ensure_ascii=False): "<" and "'" stay as they
     * are, and the separators are ", " and ": ".
     */
    private static String json(Object v, int indent, int depth) {
        if (v == null) return "null";
        if (v instanceof Boolean || v instanceof Long) return v.toString();
        if (v instanceof String s) return jsonString(s);
        List<String> parts = new ArrayList<>();
        if (v instanceof List<?> l) l.forEach(e -> parts.add(json(e, indent, depth + 1)));
        else if (v instanceof Map<?, ?> m) m.forEach((k, e) -> parts.add(jsonString(str(k)) + ": " + json(e, indent, depth + 1)));
        else throw new ChatTemplateException("Object of type " + typeName(v) + " is not JSON serializable");
        String open = v instanceof List ? "[" : "{";
        String close = v instanceof List ? "]" : "}";
        if (parts.isEmpty() || indent < 0) return open + String.join(", ", parts) + close;
        String pad = "\n" + " ".repeat(indent * (depth + 1));
        return open + pad + String.join("," + pad, parts) + "\n" + " ".repeat(indent * depth) + close;
    }

    private static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            int special = "\"\\\n\r\t\b\f".indexOf(c);
            if (special >= 0) sb.append('\\').append("\"\\nrtbf".charAt(special));
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    static boolean test(String name, Object v) {
        return switch (name) {
            case "defined" -> v != UNDEFINED;
            case "undefined" -> v == UNDEFINED;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> isInt(v);
            case "integer" -> v instanceof Long;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "mapping" -> v instanceof Map;
            case "sequence", "iterable" -> v instanceof List || v instanceof String || v instanceof Map;
            case "even" -> asLong(v) % 2 == 0;
            case "odd" -> asLong(v) % 2 != 0;
            default -> throw new IllegalStateException("test not implemented: " + name);
        };
    }

    static Object method(Object obj, String name, List<Object> args) {
        Object a0 = args.isEmpty() ? null : args.get(0);
        if (obj instanceof Map<?, ?> m && name.equals("get")) {
            return m.containsKey(a0) ? m.get(a0) : args.size() > 1 ? args.get(1) : null;
        }
        String s = obj instanceof String str ? str : null;
        switch (s == null ? "" : name) {
            case "strip": return strip(s, a0, true, true);
            case "lstrip": return strip(s, a0, true, false);
            case "rstrip": return strip(s, a0, false, true);
            case "upper": return s.toUpperCase(Locale.ROOT);
            case "lower": return s.toLowerCase(Locale.ROOT);
            case "startswith": return a0 != null && s.startsWith(str(a0));
            case "endswith": return a0 != null && s.endsWith(str(a0));
            case "split":
                if (a0 == null) return Arrays.stream(s.strip().split("\\s+")).filter(x -> !x.isEmpty()).toList();
                return Arrays.asList((Object[]) s.split(Pattern.quote(str(a0)), -1));
            case "replace":
                if (args.size() == 2) return s.replace(str(a0), str(args.get(1)));
                throw new ChatTemplateException("str.replace() takes 2 arguments");
            default:
                throw new ChatTemplateException("'" + typeName(obj) + "' object has no method '" + name + "'");
        }
    }

    /** Python's str.strip family; chars == null strips whitespace. */
    private static String strip(String s, Object chars, boolean left, boolean right) {
        String set = chars == null ? null : str(chars);
        int a = 0;
        int b = s.length();
        while (left && a < b && isStripped(s.charAt(a), set)) a++;
        while (right && b > a && isStripped(s.charAt(b - 1), set)) b--;
        return s.substring(a, b);
    }

    private static boolean isStripped(char c, String set) {
        return set == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : set.indexOf(c) >= 0;
    }

    /** raise_exception(msg) surfaces msg unchanged; namespace(k=v, ...) builds the mutable state object. */
    static Object call(String name, List<Object> args, Map<String, Object> kwargs) {
        if (name.equals("raise_exception")) {
            throw new ChatTemplateException(args.isEmpty() ? "raise_exception() called" : str(args.get(0)));
        }
        Namespace ns = new Namespace();
        ns.putAll(kwargs);
        return ns;
    }
}

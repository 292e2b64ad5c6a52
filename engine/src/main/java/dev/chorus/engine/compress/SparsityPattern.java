package dev.chorus.engine.compress;

/** Which weights a pruning step removes: a fraction of every output row, or N kept of every M consecutive inputs. */
public sealed interface SparsityPattern {
    record Unstructured(double fraction) implements SparsityPattern {
        public Unstructured {
            if (!(fraction >= 0 && fraction < 1)) {
                throw new IllegalArgumentException("sparsity fraction must be in [0, 1), got " + fraction);
            }
        }

        @Override
        public String toString() {
            return Double.toString(fraction);
        }
    }

    /** Keep n of every m consecutive inputs of a row (2:4 keeps 2 of 4). */
    record NOfM(int n, int m) implements SparsityPattern {
        public NOfM {
            if (m < 1 || n < 1 || n >= m) {
                throw new IllegalArgumentException("N:M sparsity needs 1 <= N < M, got " + n + ":" + m);
            }
        }

        @Override
        public String toString() {
            return n + ":" + m;
        }
    }

    static SparsityPattern parse(String text) {
        String t = text.trim();
        int colon = t.indexOf(':');
        try {
            if (colon >= 0) {
                return new NOfM(Integer.parseInt(t.substring(0, colon)), Integer.parseInt(t.substring(colon + 1)));
            }
            return new Unstructured(Double.parseDouble(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected a fraction like 0.5 or N:M like 2:4, got '" + text + "'");
        }
    }
}

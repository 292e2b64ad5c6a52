package dev.chorus.engine.generation;

import java.util.List;

/**
 * Streams text while watching for stop strings: text that might be the start of a stop string is
 * held back until it is known not to be one, and nothing from the first stop string on is emitted.
 */
final class StopStringMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopStringMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /** Adds generated text; returns what can be emitted now. */
    String accept(String delta) {
        if (stopped) {
            return "";
        }
        pending.append(delta);
        if (stops.isEmpty()) {
            return take(pending.length());
        }
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        return take(pending.length() - longestSuffixStartingAStop());
    }

    boolean stopped() {
        return stopped;
    }

    /** What is still held back, for when the sequence ends for another reason. */
    String flush() {
        return stopped ? "" : take(pending.length());
    }

    private int longestSuffixStartingAStop() {
        int best = 0;
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, pending.length()); len > best; len--) {
                if (pending.substring(pending.length() - len).equals(s.substring(0, len))) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }

    private String take(int count) {
        String out = pending.substring(0, count);
        pending.delete(0, count);
        return out;
    }
}

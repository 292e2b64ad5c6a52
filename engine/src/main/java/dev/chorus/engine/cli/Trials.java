package dev.chorus.engine.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A benchmark's figures over repeated trials, each printed as its median with the min–max of the
 * trials: on a shared machine the spread says how far one number can be trusted. Ratios are added
 * per trial (from figures measured side by side), never as a ratio of medians.
 */
final class Trials {
    private final Map<String, List<Double>> figures = new LinkedHashMap<>();
    private final int trials;

    Trials(int trials) {
        this.trials = trials;
    }

    void add(String name, double value) {
        figures.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }

    /** The figure's value in the latest trial. */
    double last(String name) {
        List<Double> values = figures.get(name);
        return values.get(values.size() - 1);
    }

    double median(String name) {
        return sorted(name)[trials(name) / 2];
    }

    double min(String name) {
        return sorted(name)[0];
    }

    double max(String name) {
        double[] s = sorted(name);
        return s[s.length - 1];
    }

    private int trials(String name) {
        return figures.get(name).size();
    }

    private double[] sorted(String name) {
        double[] v = figures.get(name).stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        return v;
    }

    /** One JSON object: {@code head} (pre-rendered fields), "trials", then per figure name, name_min and name_max. */
    String json(String head) {
        StringBuilder b = new StringBuilder("{").append(head).append(",\"trials\":").append(trials);
        for (String name : figures.keySet()) {
            b.append(String.format(Locale.ROOT, ",\"%s\":%s,\"%s_min\":%s,\"%s_max\":%s", name, number(median(name)), name,
                    number(min(name)), name, number(max(name))));
        }
        return b.append('}').toString();
    }

    /** One line per figure: median and min–max over the trials. */
    String table() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "  %-28s %12s   %s (%d trials)%n", "figure", "median", "min-max", trials));
        for (String name : figures.keySet()) {
            b.append(String.format(Locale.ROOT, "  %-28s %12s   %s-%s%n", name, number(median(name)), number(min(name)), number(max(name))));
        }
        return b.toString().stripTrailing();
    }

    private static String number(double v) {
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.4f", v);
    }
}

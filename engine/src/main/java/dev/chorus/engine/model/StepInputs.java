package dev.chorus.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * What one forward call shares across all its blocks, built once per call: the token ids, each
 * token's rotation, the causal mask and the cache indices (built as index objects here, never
 * parsed per block). Row b holds the tokens of the sequence in cache slot slots[b] from position
 * starts[b], padded to the longest row's L.
 */
final class StepInputs {
    final int rows;
    final int length;
    final int visible; // keys any row may look at: max over rows of starts[b] + (its tokens)
    final NDIndex lastTokens; // take [B] of each row's last real token in [B·L, ...]; null when no row is padded
    final NDIndex tokenIds; // take [B, L]
    final NDArray rotations; // [B, L, headDim, headDim]
    final NDArray mask; // [B, 1, L·group, T]: 0 where key t is visible to query l of row b, −∞ elsewhere; null when all are visible
    final NDIndex writeKeys; // (slot[B, L], :, :, position[B, L]) into [slots, kvHeads, headDim, capacity]
    final NDIndex writeValues; // (slot[B, L], :, position[B, L]) into [slots, kvHeads, capacity, headDim]
    final NDIndex readKeys; // the rows' slots, every head, :visible → [B, kvHeads, headDim, T]
    final NDIndex readValues; // the rows' slots, every head, :visible → [B, kvHeads, T, headDim]

    StepInputs(NDManager step, NDArray rotationTable, KvCache cache, int group, int[] slots, int[] starts, int[][] tokens) {
        rows = tokens.length;
        int longest = 0;
        for (int[] row : tokens) {
            longest = Math.max(longest, row.length);
        }
        length = longest;
        long[] ids = new long[rows * length];
        long[] positions = new long[rows * length];
        long[] slotOfToken = new long[rows * length];
        long[] last = new long[rows];
        boolean ragged = false;
        int seen = 0;
        for (int b = 0; b < rows; b++) {
            for (int l = 0; l < length; l++) {
                boolean real = l < tokens[b].length;
                // Padding: token 0 at a position inside the cache, written to the spare slot.
                ids[b * length + l] = real ? tokens[b][l] : 0;
                positions[b * length + l] = real ? starts[b] + l : Math.min(starts[b] + l, cache.capacity() - 1);
                slotOfToken[b * length + l] = real ? slots[b] : cache.spareSlot();
            }
            last[b] = (long) b * length + tokens[b].length - 1;
            ragged |= tokens[b].length != length;
            seen = Math.max(seen, starts[b] + tokens[b].length);
        }
        visible = seen;
        lastTokens = ragged ? new NDIndex("{}", step.create(last)) : null;
        Shape grid = new Shape(rows, length);
        NDArray position = step.create(positions, grid);
        NDArray slot = step.create(slotOfToken, grid);
        tokenIds = new NDIndex("{}", step.create(ids, grid));
        rotations = rotationTable.get(step, new NDIndex("{}", position));
        mask = everyKeyVisible(starts, length, visible) ? null : causalMask(step, starts, length, group, visible);
        writeKeys = new NDIndex("{}, :, :, {}", slot, position);
        writeValues = new NDIndex("{}, :, {}", slot, position);
        if (consecutive(slots)) { // a slice view; PyTorch's gather is much slower
            readKeys = new NDIndex().addSliceDim(slots[0], slots[0] + rows).addAllDim().addAllDim().addSliceDim(0, visible);
            readValues = new NDIndex().addSliceDim(slots[0], slots[0] + rows).addAllDim().addSliceDim(0, visible);
        } else {
            NDArray rowSlots = step.create(java.util.Arrays.stream(slots).asLongStream().toArray());
            readKeys = new NDIndex("{}, :, :, :" + visible, rowSlots);
            readValues = new NDIndex("{}, :, :" + visible, rowSlots);
        }
    }

    private static boolean consecutive(int[] slots) {
        for (int b = 1; b < slots.length; b++) {
            if (slots[b] != slots[0] + b) {
                return false;
            }
        }
        return true;
    }

    /** One token per row, every row at the last visible position (a single sequence's decode step): nothing to mask. */
    private static boolean everyKeyVisible(int[] starts, int length, int visible) {
        if (length != 1) {
            return false;
        }
        for (int start : starts) {
            if (start != visible - 1) {
                return false;
            }
        }
        return true;
    }

    /** Row r = l·group + g of the query block is query l of head g of a kv head: key t visible iff t ≤ starts[b] + l. */
    private static NDArray causalMask(NDManager step, int[] starts, int length, int group, int visible) {
        float[] mask = new float[starts.length * length * group * visible];
        for (int b = 0; b < starts.length; b++) {
            for (int l = 0; l < length; l++) {
                for (int g = 0; g < group; g++) {
                    int base = ((b * length + l) * group + g) * visible;
                    for (int t = starts[b] + l + 1; t < visible; t++) {
                        mask[base + t] = Float.NEGATIVE_INFINITY;
                    }
                }
            }
        }
        return step.create(mask, new Shape(starts.length, 1, (long) length * group, visible));
    }
}

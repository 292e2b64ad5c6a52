package dev.chorus.engine.compressed;

import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** Lookup tables of the INT4 kernels, indexed by one mask byte (8 columns, bit set = kept), for 8-lane species. */
final class ChunkTables {
    private static final int LANES = 8;

    private ChunkTables() {
    }

    @SuppressWarnings("unchecked")
    static VectorShuffle<Float>[] expandShuffles(VectorSpecies<Float> F) {
        VectorShuffle<Float>[] table = new VectorShuffle[256];
        for (int bits = 0; bits < 256; bits++) {
            int[] source = new int[LANES];
            int rank = 0;
            for (int lane = 0; lane < LANES; lane++) {
                source[lane] = (bits >>> lane & 1) != 0 ? rank++ : 0;
            }
            table[bits] = VectorShuffle.fromArray(F, source, 0);
        }
        return table;
    }

    @SuppressWarnings("unchecked")
    static VectorShuffle<Float>[] compressShuffles(VectorSpecies<Float> F) {
        VectorShuffle<Float>[] table = new VectorShuffle[256];
        for (int bits = 0; bits < 256; bits++) {
            int[] source = new int[LANES];
            int rank = 0;
            for (int lane = 0; lane < LANES; lane++) {
                if ((bits >>> lane & 1) != 0) {
                    source[rank++] = lane;
                }
            }
            table[bits] = VectorShuffle.fromArray(F, source, 0);
        }
        return table;
    }

    @SuppressWarnings("unchecked")
    static VectorMask<Float>[] prunedMasks(VectorSpecies<Float> F) {
        VectorMask<Float>[] table = new VectorMask[256];
        for (int bits = 0; bits < 256; bits++) {
            boolean[] pruned = new boolean[LANES];
            for (int lane = 0; lane < LANES; lane++) {
                pruned[lane] = (bits >>> lane & 1) == 0;
            }
            table[bits] = VectorMask.fromArray(F, pruned, 0);
        }
        return table;
    }
}

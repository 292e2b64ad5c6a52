package dev.chorus.engine.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/** One targeted module of an adapter in training: its parameters (recording gradients) and its forward. */
public interface TrainableModule {

    /** The adapted linear: x [.., in], w [out, in] → [.., out]. */
    NDArray forward(NDArray x, NDArray w);

    /** What the optimizer updates, in a fixed order (A before B). */
    List<NDArray> parameters();

    /** Whether weight decay applies: not to scales, which decay toward 1, not 0. */
    boolean decayed();

    /** The current values as file weights. */
    ModuleWeights snapshot();

    /** An array that records gradients, in the training dtype. */
    static NDArray trainable(NDArray x, ai.djl.ndarray.types.DataType dtype) {
        NDArray typed = x.toType(dtype, false);
        typed.setRequiresGradient(true);
        return typed;
    }

    /** Mean over each group of g consecutive inputs: [.., in] → [.., in/g]. */
    static NDArray pool(NDArray x, int groupSize) {
        Shape s = x.getShape();
        long in = s.get(s.dimension() - 1);
        Shape grouped = s.slice(0, s.dimension() - 1).add(in / groupSize, groupSize);
        return x.reshape(grouped).mean(new int[] {-1});
    }

    static float[] floats(NDArray x) {
        return x.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
    }
}

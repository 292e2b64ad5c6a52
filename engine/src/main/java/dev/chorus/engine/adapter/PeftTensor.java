package dev.chorus.engine.adapter;

/** One tensor of a module in adapter_model.safetensors: its name after the module prefix and its shape. */
public record PeftTensor(String suffix, long[] shape) {
    public PeftTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}

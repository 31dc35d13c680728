package frl.nn;

import frl.autograd.Var;

import java.util.ArrayList;
import java.util.List;

/**
 * Layers applied in order, as torch.nn.Sequential: named 0, 1, 2… by {@link #add(Layer)}, or by the given
 * name (torch's add_module, e.g. "input-conv" in the reference VAE) by {@link #add(String, Layer)}.
 */
public final class Sequential extends Layer {
    private final List<Layer> layers = new ArrayList<>();

    public Sequential(Layer... layers) {
        for (Layer l : layers) add(l);
    }

    public Sequential add(Layer layer) { return add(Integer.toString(layers.size()), layer); }

    public Sequential add(String name, Layer layer) {
        addModule(name, layer);
        layers.add(layer);
        return this;
    }

    public Layer get(int i) { return layers.get(i); }

    public int size() { return layers.size(); }

    @Override public Var forward(Var x) { return forwardUpTo(x, layers.size()); }

    /** The first {@code end} layers applied to x; a BatchNorm2d followed by a ReLU as {@link BatchNorm2d#forwardRelu}. */
    public Var forwardUpTo(Var x, int end) {
        for (int i = 0; i < end; i++) {
            Layer l = layers.get(i);
            boolean withRelu = l instanceof BatchNorm2d && i + 1 < end && layers.get(i + 1) instanceof ReLU;
            x = withRelu ? ((BatchNorm2d) l).forwardRelu(x) : l.forward(x);
            if (withRelu) i++;   // the ReLU is applied
        }
        return x;
    }
}

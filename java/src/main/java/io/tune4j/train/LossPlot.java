package io.tune4j.train;

import io.tune4j.io.AtomicFiles;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** loss.png: training and validation loss against the step, with axes, ticks and a legend. */
public final class LossPlot {
    public static final int WIDTH = 800;
    public static final int HEIGHT = 500;
    private static final Color TRAIN = new Color(31, 119, 180);
    private static final Color VAL = new Color(214, 39, 40);
    private static final int LEFT = 70, RIGHT = 20, TOP = 30, BOTTOM = 50;

    private LossPlot() {}

    /** Renders the plot and writes it atomically as PNG. */
    public static void write(Path png, List<StepMetrics> metrics) {
        BufferedImage img = render(metrics);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, "png", bytes)) throw new IOException("no PNG encoder");
        } catch (IOException e) {
            throw new UncheckedIOException(png + ": encoding PNG failed: " + e.getMessage(), e);
        }
        AtomicFiles.write(png, bytes.toByteArray());
    }

    public static BufferedImage render(List<StepMetrics> metrics) {
        // AWT must not look for a display: training runs on servers
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        List<double[]> train = new ArrayList<>(), val = new ArrayList<>();
        for (StepMetrics m : metrics) {
            if (Double.isFinite(m.loss())) train.add(new double[] {m.step(), m.loss()});
            if (m.valLoss() != null && Double.isFinite(m.valLoss())) val.add(new double[] {m.step(), m.valLoss()});
        }
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
            if (!train.isEmpty() || !val.isEmpty()) {
                x0 = Double.MAX_VALUE; x1 = -Double.MAX_VALUE; y0 = Double.MAX_VALUE; y1 = -Double.MAX_VALUE;
                for (List<double[]> s : List.of(train, val)) {
                    for (double[] p : s) {
                        x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
                        y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
                    }
                }
                if (x1 == x0) x1 = x0 + 1;
                if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
            }
            double[] yt = ticks(y0, y1), xt = ticks(x0, x1);
            y0 = Math.min(y0, yt[0]); y1 = Math.max(y1, yt[yt.length - 1]);
            Frame f = new Frame(x0, x1, y0, y1);
            drawAxes(g, f, xt, yt);
            drawSeries(g, f, train, TRAIN, false);
            drawSeries(g, f, val, VAL, true);
            drawLegend(g, !val.isEmpty());
        } finally {
            g.dispose();
        }
        return img;
    }

    private record Frame(double x0, double x1, double y0, double y1) {
        double px(double x) {
            return LEFT + (x - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT);
        }

        double py(double y) {
            return HEIGHT - BOTTOM - (y - y0) / (y1 - y0) * (HEIGHT - TOP - BOTTOM);
        }
    }

    /** About five "nice" tick values (1, 2, 5 × 10^k apart) covering [lo, hi]. */
    static double[] ticks(double lo, double hi) {
        double raw = (hi - lo) / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        }
        double start = Math.floor(lo / step) * step;
        List<Double> out = new ArrayList<>();
        for (double t = start; t <= hi + step * 0.999; t += step) out.add(t);
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static void drawAxes(Graphics2D g, Frame f, double[] xt, double[] yt) {
        FontMetrics fm = g.getFontMetrics();
        int left = LEFT, right = WIDTH - RIGHT, top = TOP, bottom = HEIGHT - BOTTOM;
        for (double t : yt) {
            if (t < f.y0 - 1e-12 || t > f.y1 + 1e-12) continue;
            int y = (int) Math.round(f.py(t));
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left, y, right, y);
            g.setColor(Color.BLACK);
            g.drawLine(left - 5, y, left, y);
            String s = label(t, yt);
            g.drawString(s, left - 8 - fm.stringWidth(s), y + fm.getAscent() / 2 - 1);
        }
        for (double t : xt) {
            if (t < f.x0 - 1e-12 || t > f.x1 + 1e-12) continue;
            int x = (int) Math.round(f.px(t));
            g.setColor(Color.BLACK);
            g.drawLine(x, bottom, x, bottom + 5);
            String s = label(t, xt);
            g.drawString(s, x - fm.stringWidth(s) / 2, bottom + 8 + fm.getAscent());
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        g.drawString("step", (left + right - fm.stringWidth("step")) / 2, HEIGHT - 10);
        Graphics2D r = (Graphics2D) g.create();
        r.rotate(-Math.PI / 2);
        r.drawString("loss", -(top + bottom + fm.stringWidth("loss")) / 2, 18);
        r.dispose();
    }

    private static String label(double t, double[] all) {
        double step = all.length > 1 ? all[1] - all[0] : 1;
        int decimals = (int) Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
        return String.format(java.util.Locale.ROOT, "%." + decimals + "f", t);
    }

    private static void drawSeries(Graphics2D g, Frame f, List<double[]> pts, Color c, boolean markers) {
        if (pts.isEmpty()) return;
        g.setColor(c);
        g.setStroke(new BasicStroke(markers ? 2f : 1.5f));
        Path2D.Double path = new Path2D.Double();
        for (int i = 0; i < pts.size(); i++) {
            double x = f.px(pts.get(i)[0]), y = f.py(pts.get(i)[1]);
            if (i == 0) path.moveTo(x, y); else path.lineTo(x, y);
        }
        g.draw(path);
        if (markers) {
            for (double[] p : pts) {
                int x = (int) Math.round(f.px(p[0])), y = (int) Math.round(f.py(p[1]));
                g.fillOval(x - 3, y - 3, 7, 7);
            }
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static void drawLegend(Graphics2D g, boolean withVal) {
        FontMetrics fm = g.getFontMetrics();
        int w = 130, h = withVal ? 44 : 24, x = WIDTH - RIGHT - w - 10, y = TOP + 10;
        g.setColor(Color.WHITE);
        g.fillRect(x, y, w, h);
        g.setColor(Color.GRAY);
        g.drawRect(x, y, w, h);
        legendEntry(g, fm, x + 8, y + 16, TRAIN, "training loss");
        if (withVal) legendEntry(g, fm, x + 8, y + 36, VAL, "validation loss");
    }

    private static void legendEntry(Graphics2D g, FontMetrics fm, int x, int y, Color c, String text) {
        g.setColor(c);
        g.setStroke(new BasicStroke(2f));
        g.drawLine(x, y - fm.getAscent() / 2 + 1, x + 20, y - fm.getAscent() / 2 + 1);
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.BLACK);
        g.drawString(text, x + 28, y);
    }
}

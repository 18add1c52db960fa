/**
 * Pictures of what models do: scatter and density plots of 2-D points, panels, upscaling, and
 * animated GIFs (APNG and still PNG encoding live in src/data/png.ts). Pure and browser-safe.
 */
export { Canvas, type Rgb } from './canvas.ts';
export { glyph, textWidth, GLYPH_WIDTH, GLYPH_HEIGHT } from './font.ts';
export { COLORS, niceTicks, formatTick, pointsRange, Axes, scatterPlot, histogram2d, densityPlot, hstack, upscale, titled, type PlotRange, type ScatterSeries, type PlotOptions } from './plot.ts';
export { encodeGif } from './gif.ts';
export { encodePng, encodeApng, decodePng, imageGrid, heatmap, type PngImage } from '../data/png.ts';

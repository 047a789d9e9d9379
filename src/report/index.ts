/** lmlab report and dashboard: typed report input, Vega-Lite figures rendered to SVG, HTML report, local dashboard. */
export * from './types.ts';
export { buildFigures, fmt, quantileBand, thin, runsPhrase, type Figure, type VlSpec } from './figures.ts';
export { buildReport, renderFigure, renderReport, reportHtml, specToSvg, FigureRenderError, VERSIONS, type BuiltReport, type RenderedFigure, type RenderResult } from './render.ts';
export { reportFromStore, runCurve, parseMetricsJsonl, type StoreReportOptions, type CurvePoint } from './store.ts';
export { startDashboard, createDashboardHandler, findReports, ServeError, type Dashboard, type DashboardOptions } from './server.ts';
export { resolveInside } from './safepath.ts';
export { svgsToPng, findChromium, NoBrowserError, CHROMIUM_ARGS } from './png.ts';

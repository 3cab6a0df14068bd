import { useId } from "preact/hooks";

/** One set of bars: a value per category (null where there is nothing to measure). */
export interface Series {
  name: string;
  values: (number | null)[];
  /** The CSS class that colours its bars and legend swatch (admin.css: `.series-1`, `.series-2`). */
  className: string;
}

/**
 * A round top for the axis above `value`: 1, 2 or 5 times a power of ten; for counts 2, 4 or 10
 * times one (at least 2), so that the middle grid line is a whole number too.
 */
function niceMax(value: number, counts: boolean): number {
  const factors = counts ? [2, 4, 10] : [1, 2, 5, 10];
  if (value <= 0) return counts ? 2 : 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const factor = factors.find((candidate) => candidate * power >= value) ?? 10;
  return Math.max(counts ? 2 : 0, factor * power);
}

const width = 320;
const height = 170;
const margin = { top: 14, right: 6, bottom: 22, left: 40 };

/**
 * A bar chart drawn as plain SVG, one group of bars per category. For screen readers the SVG is
 * one image named by its title and described by `description`; the same figures are in a table
 * below it (behind a disclosure), which is also what a keyboard user can read value by value.
 * `format` writes a value for the axis, the labels and the table; `max` fixes the axis top
 * (a rate's 1), else it is rounded up from the largest value (`counts`: whole numbers). A chart of
 * one series labels each bar with its value; grouped bars are too narrow for labels, and their
 * values are in the table. `labelEvery` names every nth category under the axis (hours of a day:
 * 24 names do not fit at 360 px); such a chart's bars are too narrow for values too.
 */
export function BarChart(props: {
  title: string;
  description: string;
  categories: readonly string[];
  categoryLabel: string;
  series: Series[];
  format(value: number): string;
  max?: number;
  counts?: boolean;
  labelEvery?: number;
}) {
  const id = useId();
  const values = props.series.flatMap((series) => series.values).filter((value) => value !== null);
  const top = props.max ?? niceMax(Math.max(0, ...values), props.counts ?? false);
  const labelEvery = props.labelEvery ?? 1;
  const labelled = props.series.length === 1 && labelEvery === 1;
  // With nothing measured the axis has no scale, only its zero: a top of 1 reads "0 ms, 1 ms, 1 ms".
  const grid = values.length > 0 || props.max !== undefined ? [0, 0.5, 1] : [0];
  const plot = { width: width - margin.left - margin.right, height: height - margin.top - margin.bottom };
  const group = plot.width / props.categories.length;
  const bar = (group * 0.72) / props.series.length;
  const y = (value: number) => margin.top + plot.height - (Math.min(value, top) / top) * plot.height;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>{props.title}</title>
        <desc id={`${id}-desc`}>{props.description}</desc>
        {grid.map((share) => (
          <g key={share} class="grid">
            <line x1={margin.left} x2={width - margin.right} y1={y(top * share)} y2={y(top * share)} />
            <text x={margin.left - 4} y={y(top * share) + 3} text-anchor="end">
              {props.format(top * share)}
            </text>
          </g>
        ))}
        {props.categories.map((category, index) => {
          const left = margin.left + index * group + group * 0.14;
          return (
            <g key={category}>
              {props.series.map((series, position) => {
                const value = series.values[index] ?? null;
                const x = left + position * bar;
                // A dash marks a category with nothing measured, where there is room for one.
                if (value === null && labelEvery > 1) return null;
                if (value === null) {
                  return (
                    <text key={series.name} class="none" x={x + bar / 2} y={y(0) - 3} text-anchor="middle">
                      –
                    </text>
                  );
                }
                return (
                  <g key={series.name}>
                    <rect class={series.className} x={x} y={y(value)} width={bar - 1} height={y(0) - y(value)} />
                    {labelled ? (
                      <text class="value" x={x + bar / 2} y={y(value) - 2} text-anchor="middle">
                        {props.format(value)}
                      </text>
                    ) : null}
                  </g>
                );
              })}
              {index % labelEvery === 0 ? (
                <text class="category" x={margin.left + index * group + group / 2} y={height - 6} text-anchor="middle">
                  {category}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <strong>{props.title}</strong>
        {props.series.length > 1 ? (
          <span class="legend">
            {props.series.map((series) => (
              <span key={series.name}>
                <span class={`swatch ${series.className}`} aria-hidden="true" /> {series.name}
              </span>
            ))}
          </span>
        ) : null}
      </figcaption>
      <details>
        <summary>{props.title}: as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{props.categoryLabel}</th>
              {props.series.map((series) => (
                <th key={series.name} scope="col">
                  {series.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.categories.map((category, index) => (
              <tr key={category}>
                <th scope="row">{category}</th>
                {props.series.map((series) => {
                  const value = series.values[index] ?? null;
                  return <td key={series.name}>{value === null ? "no data" : props.format(value)}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
);

export interface Series {
  label: string;
  values: number[];
  color: string;
}

interface ChartFigureProps {
  id: string;
  title: string;
  kind: "bar" | "line";
  labels: string[];
  series: Series[];
  /** Horizontal bars read better for long labels (event names). */
  horizontal?: boolean;
  unit?: string;
}

/**
 * A Chart.js chart and, beside it, the same numbers as a table: the table is what screen readers
 * and keyboard users get, and what the browser tests read (data-chart, data-value).
 */
export function ChartFigure({ id, title, kind, labels, series, horizontal, unit = "" }: ChartFigureProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: kind,
      data: {
        labels,
        datasets: series.map((s) => ({
          label: s.label,
          data: s.values,
          backgroundColor: s.color,
          borderColor: s.color,
          pointRadius: kind === "line" ? 2 : undefined,
        })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: series.length > 1 } },
        scales: { [horizontal ? "x" : "y"]: { beginAtZero: true } },
      },
    });
    return () => chart.destroy();
  }, [kind, labels, series, horizontal]);
  return (
    <figure class="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <div class="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={`${title} (chart; the table below has the numbers)`} />
      </div>
      <details>
        <summary>Table</summary>
        <div class="table-wrap">
          <table data-chart={id}>
            <thead>
              <tr>
                <th scope="col">{horizontal ? "Name" : "Label"}</th>
                {series.map((s) => (
                  <th scope="col" class="num" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {labels.map((label, i) => (
                <tr key={`${label}-${i}`}>
                  <th scope="row">{label}</th>
                  {series.map((s) => (
                    <td class="num" key={s.label} data-value={s.values[i]}>
                      {s.values[i]}
                      {unit}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

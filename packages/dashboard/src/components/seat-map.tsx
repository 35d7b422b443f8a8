import type { SeatStatusVector } from "../api";

const LABEL = { A: "available", H: "held", B: "booked" } as const;
type Code = keyof typeof LABEL;

/**
 * One cell per seat, drawn from the compact vector (character i is seat i + 1). Cells carry
 * data-seat and data-status so a test (or a person with devtools) can read the map; the counts
 * above it are announced politely when they change.
 */
export function SeatMap({ vector }: { vector: SeatStatusVector }) {
  const cells = [...vector.statuses];
  return (
    <figure class="seat-map-figure">
      <figcaption>
        <span aria-live="polite" data-testid="seat-counts">
          {vector.available} available, {vector.held} held, {vector.booked} booked of {vector.capacity}
        </span>
        <ul class="legend" aria-label="Legend">
          {(Object.keys(LABEL) as Code[]).map((code) => (
            <li key={code}>
              <span class={`seat seat-${code}`} aria-hidden="true">
                {code}
              </span>
              {LABEL[code]}
            </li>
          ))}
        </ul>
      </figcaption>
      <div class="seat-map" role="img" aria-label={`Seat map of ${vector.capacity} seats`}>
        {cells.map((code, i) => {
          const status = LABEL[code as Code] ?? "unknown";
          return (
            <span
              key={i}
              class={`seat seat-${code}`}
              data-seat={i + 1}
              data-status={status}
              title={`Seat ${i + 1}: ${status}`}
            >
              {i + 1}
            </span>
          );
        })}
      </div>
    </figure>
  );
}

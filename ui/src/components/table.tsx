// A table that scrolls sideways on wide content and turns into cards on a
// phone (styles.css reads each cell's data-label for the card's captions).

import type { ComponentChildren } from 'preact';

export function ResponsiveTable({ name, columns, children }: { name: string; columns: string[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table class={`${name} responsive`}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col">
                {c === '' ? <span class="sr-only">Actions</span> : c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

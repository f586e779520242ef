/** A drawing pad that hands back the drawing as 28x28 grayscale in [0, 1], MNIST's layout. */
export class DrawingPad {
  private drawing = false;
  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d')!;
    this.clear();
    const at = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
    };
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      const [x, y] = at(e);
      ctx.beginPath();
      ctx.moveTo(x, y);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      const [x, y] = at(e);
      ctx.lineTo(x, y);
      ctx.stroke();
    });
    window.addEventListener('pointerup', () => (this.drawing = false));
  }

  clear(): void {
    const ctx = this.canvas.getContext('2d')!;
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.strokeStyle = 'white';
    ctx.lineWidth = 18;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
  }

  /** The drawing, averaged down to 28x28, values in [0, 1]. */
  pixels(): Float32Array {
    const { width, height } = this.canvas;
    const src = this.canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    const out = new Float32Array(784);
    const cell = width / 28;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[Math.floor(y / cell) * 28 + Math.floor(x / cell)] += src[(y * width + x) * 4] / 255 / (cell * cell);
      }
    }
    return out;
  }
}
